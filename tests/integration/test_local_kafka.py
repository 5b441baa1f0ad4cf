"""The local Kafka event source on the real embedded broker (Tansu), feeding the real kafka_ingest handler
(in-process) that writes into the emulator's deployed bucket and table: mixed records over 3 partitions stored
once, rejections reported, replays and consumer restarts without duplicates or loss, partial failures retried
then given up to the on-failure queue."""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from PIL import Image

from scripts.local import stack
from scripts.local.event_sources.kafka import KafkaMapping, KafkaPoller
from scripts.local.lambda_host import LocalContext, load_handler
from tests.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kafka_function(deployed: dict[str, Any], local_stack: stack.StackConfig) -> Iterator[ModuleType]:
    sqs = stack.aws_client(local_stack, "sqs")
    env = {
        **local_stack.client_env(),
        "RAW_BUCKET": deployed["raw_bucket_name"],
        "RAW_PREFIX": deployed["raw_prefix"],
        "CLAIM_CHECK_PREFIX": "staging/",
        "DEFAULT_TENANT": "it-kafka",  # this topic's records belong to one tenant (docs/kafka.md, Tenants)
        "TABLE_NAME": deployed["metadata_table_name"],
        "IDEMPOTENCY_TABLE": deployed["api_idempotency_table_name"],
        "KMS_KEY_ARN": deployed["kms_key_arn"],
        "REJECTS_QUEUE_URL": sqs.create_queue(QueueName="kafka-rejects-test")["QueueUrl"],
        "AWS_LAMBDA_FUNCTION_NAME": "kafka_ingest",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "imgpipe",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        module = load_handler("kafka_ingest")
        for cached in (module.service, module.rejects_queue, module.idempotency_config, module.ingest_once):
            cached.cache_clear()
        yield module


class InProcess:
    def __init__(self, function: ModuleType, fail_offsets: set[tuple[int, int]] | None = None) -> None:
        self.function = function
        self.fail_offsets = fail_offsets or set()

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        response = self.function.handler(event, LocalContext(name, timeout_s=30))
        for records in event["records"].values():
            for record in records:
                if (record["partition"], record["offset"]) in self.fail_offsets:
                    identifier = {"partition": f"{record['topic']}-{record['partition']}", "offset": record["offset"]}
                    response["batchItemFailures"].append({"itemIdentifier": identifier})
        return response


def new_topic(cfg: stack.StackConfig, partitions: int = 3) -> str:
    topic = f"images-{time.time_ns()}"
    admin = AdminClient({"bootstrap.servers": cfg.kafka_bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values():
        future.result(15)
    return topic


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32 + seed % 7, 24), (seed * 37 % 256, seed * 11 % 256, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


Header = tuple[str, str | bytes | None]


def produce(cfg: stack.StackConfig, topic: str, values: list[tuple[int, bytes, list[Header]]]) -> None:
    producer = Producer({"bootstrap.servers": cfg.kafka_bootstrap, "acks": "all"})
    for partition, value, headers in values:
        producer.produce(topic, value=value, partition=partition, headers=headers)
    assert producer.flush(15) == 0


def mapping(cfg: stack.StackConfig, topic: str, group: str, **overrides: Any) -> KafkaMapping:
    settings: dict[str, Any] = {"batch_size": 8, "batching_window_s": 0.5, **overrides}
    return KafkaMapping("kafka_ingest", cfg.kafka_bootstrap, (topic,), group, **settings)


def drain(poller: KafkaPoller, expected: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while poller.stats.records < expected:
        assert time.monotonic() < deadline, f"only {poller.stats.records}/{expected} records delivered: {poller.stats}"
        poller.poll_once()
    poller.close()


def stored(cfg: stack.StackConfig, deployed: dict[str, Any], topic: str) -> list[tuple[int, int]]:
    dynamodb = stack.aws_client(cfg, "dynamodb")
    found: list[tuple[int, int]] = []
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=deployed["metadata_table_name"],
        FilterExpression="kafka_topic = :t",
        ExpressionAttributeValues={":t": {"S": topic}},
    ):
        found += [(int(i["kafka_partition"]["N"]), int(i["kafka_offset"]["N"])) for i in page["Items"]]
    return sorted(found)


def rejected(cfg: stack.StackConfig, topic: str) -> list[dict[str, Any]]:
    sqs = stack.aws_client(cfg, "sqs")
    url = sqs.get_queue_url(QueueName="kafka-rejects-test")["QueueUrl"]
    found = []
    for _ in range(5):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            body = json.loads(message["Body"])
            if body["topic"] == topic:
                found.append(body)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_mixed_records_are_stored_once_and_replays_store_nothing(
    local_stack: stack.StackConfig, deployed: dict[str, Any], kafka_function: ModuleType
) -> None:
    topic = new_topic(local_stack)
    png_type: list[Header] = [("content-type", b"image/png")]
    good = [(n % 3, png(n), png_type) for n in range(24)]
    bad = [(n % 3, b"<html>" + bytes([n]), png_type) for n in range(6)]
    produce(local_stack, topic, good[:12] + bad + good[12:])

    poller = KafkaPoller(mapping(local_stack, topic, "ingest"), InProcess(kafka_function), log=lambda _m: None)
    drain(poller, 30)

    assert len(stored(local_stack, deployed, topic)) == 24
    reasons = rejected(local_stack, topic)
    assert len(reasons) == 6 and {r["reason"] for r in reasons} == {"unknown_format"}

    replay = KafkaPoller(mapping(local_stack, topic, "replay"), InProcess(kafka_function), log=lambda _m: None)
    drain(replay, 30)  # a new group reads the topic from the beginning

    assert len(stored(local_stack, deployed, topic)) == 24 and rejected(local_stack, topic) == []


def test_a_consumer_restart_mid_stream_loses_and_duplicates_nothing(
    local_stack: stack.StackConfig, deployed: dict[str, Any], kafka_function: ModuleType
) -> None:
    topic = new_topic(local_stack)
    png_type: list[Header] = [("content-type", b"image/png")]
    produce(local_stack, topic, [(n % 3, png(100 + n), png_type) for n in range(20)])

    first = KafkaPoller(mapping(local_stack, topic, "ingest", batch_size=4), InProcess(kafka_function))
    while first.stats.records < 6:
        first.poll_once()
    first.close()  # the consumer dies after a few batches, its offsets committed
    second = KafkaPoller(mapping(local_stack, topic, "ingest", batch_size=4), InProcess(kafka_function))
    drain(second, 20 - first.stats.records)

    offsets = stored(local_stack, deployed, topic)
    assert len(offsets) == 20 and len(set(offsets)) == 20


def test_a_record_that_keeps_failing_is_given_up_and_its_neighbours_stored(
    local_stack: stack.StackConfig, deployed: dict[str, Any], kafka_function: ModuleType
) -> None:
    topic = new_topic(local_stack, partitions=1)
    png_type: list[Header] = [("content-type", b"image/png")]
    produce(local_stack, topic, [(0, png(200 + n), png_type) for n in range(6)])
    sqs = stack.aws_client(local_stack, "sqs")
    on_failure = sqs.create_queue(QueueName=f"on-failure-{time.time_ns()}")["QueueUrl"]
    poller = KafkaPoller(
        mapping(local_stack, topic, "ingest", maximum_retry_attempts=2, on_failure_queue_url=on_failure),
        InProcess(kafka_function, fail_offsets={(0, 2)}),
        sqs=sqs,
        log=lambda _m: None,
    )

    deadline = time.monotonic() + 90
    while poller.stats.given_up == 0:
        assert time.monotonic() < deadline, poller.stats
        poller.poll_once()
    while poller.poll_once():  # whatever was rewound behind it
        pass
    poller.close()

    assert poller.stats.failed_deliveries == 3
    assert stored(local_stack, deployed, topic) == [(0, n) for n in range(6)]  # offset 2 was stored; its reply lied
    [dead] = sqs.receive_message(QueueUrl=on_failure).get("Messages", [])
    assert json.loads(dead["Body"])["KafkaBatchInfo"] == {"topic": topic, "partition": 0, "offset": 2}


def test_the_deployed_kafka_source_is_consumed_and_its_images_processed(
    local_stack: stack.StackConfig, deployed: dict[str, Any], tmp_path: Any
) -> None:
    """No hand-written wiring: topic, group, batching and function come from the pipeline's outputs."""
    from scripts.local import worker as local_worker
    from scripts.ops.kafka_produce import Staging, send_file

    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed)
    [kafka] = worker.kafka_pollers
    declared = deployed["kafka_event_source"]
    assert kafka.mapping.topics == (declared["topic"],) and kafka.mapping.function_name == declared["function_name"]
    assert kafka.mapping.consumer_group_id == declared["consumer_group_id"]

    stamp = time.time_ns()
    small, large = tmp_path / f"small-{stamp}.png", tmp_path / f"large-{stamp}.png"
    small.write_bytes(png(1))
    buffer = io.BytesIO()
    Image.effect_noise((300, 300), 50).convert("RGB").save(buffer, format="PNG")
    large.write_bytes(buffer.getvalue())
    staging = Staging(
        stack.aws_client(local_stack, "s3"), deployed["raw_bucket_name"], "staging/", deployed["kms_key_arn"]
    )
    producer = Producer({"bootstrap.servers": local_stack.kafka_bootstrap, "acks": "all"})
    send_file(producer, declared["topic"], small, staging=staging, source_id="it")
    send_file(producer, declared["topic"], large, staging=staging, claim_check="always", source_id="it")
    assert producer.flush(15) == 0

    dynamodb = stack.aws_client(local_stack, "dynamodb")

    def ours() -> list[dict[str, Any]]:
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=deployed["metadata_table_name"],
            FilterExpression="filename IN (:a, :b)",
            ExpressionAttributeValues={":a": {"S": small.name}, ":b": {"S": large.name}},
        )
        return [item for page in pages for item in page["Items"]]

    deadline = time.monotonic() + 90
    while len(ours()) < 2 or {i["status"]["S"] for i in ours()} != {"PROCESSED"}:
        assert time.monotonic() < deadline, (ours(), kafka.stats, worker.pollers[0].stats)
        kafka.poll_once()
        worker.pollers[0].poll_once(wait_s=0)
    kafka.close()
    assert {i["source"]["S"] for i in ours()} == {"kafka"} and {i["owner"]["S"] for i in ours()} == {"it"}
    # The tenant is envs/local's source_tenants entry for "it", leading the raw key; never the record's say.
    assert {i["tenant_id"]["S"] for i in ours()} == {"it-kafka"}
    assert all(i["raw_key"]["S"].startswith("raw/it-kafka/") for i in ours())


def test_a_record_from_a_source_without_a_tenant_is_rejected_as_unknown_source(
    local_stack: stack.StackConfig, deployed: dict[str, Any]
) -> None:
    from scripts.local import worker as local_worker

    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed)
    [kafka] = worker.kafka_pollers
    topic, stranger = deployed["kafka_event_source"]["topic"], f"stranger-{time.time_ns()}"
    producer = Producer({"bootstrap.servers": local_stack.kafka_bootstrap, "acks": "all"})
    producer.produce(topic, value=png(7), headers=[("content-type", b"image/png"), ("source-id", stranger.encode())])
    assert producer.flush(15) == 0
    sqs = stack.aws_client(local_stack, "sqs")
    reasons: list[str] = []
    deadline = time.monotonic() + 60
    while "unknown_source" not in reasons:
        assert time.monotonic() < deadline, (reasons, kafka.stats)
        kafka.poll_once()
        url = deployed["kafka_rejects_queue_url"]
        # Visibility 0: the other tests' reports stay where they are.
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        ):
            body = json.loads(message["Body"])
            if stranger in body.get("message", ""):
                reasons.append(body["reason"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    kafka.close()
    items = stack.aws_client(local_stack, "dynamodb").scan(
        TableName=deployed["metadata_table_name"],
        FilterExpression="#o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": stranger}},
    )["Items"]
    assert items == []  # nothing stored for it


def test_200_images_inline_and_by_claim_check_over_3_partitions_are_stored_once_then_processed(
    local_stack: stack.StackConfig, deployed: dict[str, Any]
) -> None:
    """The issue's load test on the deployed wiring: 150 inline + 50 claim-check images over 3 partitions, with
    hostile records interleaved; every image stored once and PROCESSED, every hostile record rejected with its
    reason and coordinates, nothing half-written."""
    from scripts.local import worker as local_worker
    from tests.imaging import animated_gif, handmade_png

    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed)
    [kafka] = worker.kafka_pollers
    topic, raw_bucket = deployed["kafka_event_source"]["topic"], deployed["raw_bucket_name"]
    source_id = f"it-load-{time.time_ns()}"  # envs/local maps it-* to a tenant
    s3 = stack.aws_client(local_stack, "s3")

    def staged(n: int, data: bytes) -> bytes:
        key = f"staging/{source_id}/{n}.png"
        s3.put_object(
            Bucket=raw_bucket, Key=key, Body=data, ServerSideEncryption="aws:kms", SSEKMSKeyId=deployed["kms_key_arn"]
        )
        return json.dumps({"s3_uri": f"s3://{raw_bucket}/{key}", "content_type": "image/png"}).encode()

    png_type: list[Header] = [("content-type", b"image/png"), ("source-id", source_id.encode())]
    by_reference: list[Header] = [("source-id", source_id.encode())]
    images = [
        (n % 3, staged(n, png(n)) if n % 4 == 0 else png(n), by_reference if n % 4 == 0 else png_type)
        for n in range(200)
    ]
    hostile: list[tuple[bytes, list[Header], str]] = [
        (handmade_png(16_000, 16_000), png_type, "too_many_pixels"),
        (handmade_png(1, 100_000), png_type, "dimension_too_large"),
        (animated_gif(101), [("content-type", b"image/gif")], "too_many_frames"),
        (png(7)[:-30], png_type, "truncated"),
        (b"<html><script>x</script></html>", [("content-type", b"image/jpeg")], "unknown_format"),
        (png(8), [("content-type", b"image/jpeg")], "type_mismatch"),
        (b"", png_type, "empty"),
        (b'{"s3_uri": ', by_reference, "bad_envelope"),
        (json.dumps({"s3_uri": f"s3://{raw_bucket}/raw/2026/x"}).encode(), by_reference, "reference_not_allowed"),
        (
            json.dumps({"s3_uri": f"s3://{raw_bucket}/staging/{source_id}/gone"}).encode(),
            by_reference,
            "reference_missing",
        ),
    ]
    expected_reasons: dict[tuple[int, int], str] = {}

    def remember(reason: str) -> Any:
        return lambda err, msg: expected_reasons.__setitem__((msg.partition(), msg.offset()), reason)

    producer = Producer({"bootstrap.servers": local_stack.kafka_bootstrap, "acks": "all"})
    for n, (partition, value, headers) in enumerate(images):
        producer.produce(topic, value=value, partition=partition, headers=headers)
        if n % 20 == 10:  # a hostile record between good neighbours, on every partition
            bad_value, bad_headers, reason = hostile[n // 20]
            producer.produce(topic, value=bad_value, partition=n % 3, headers=bad_headers, on_delivery=remember(reason))
    assert producer.flush(30) == 0 and len(expected_reasons) == len(hostile)

    dynamodb = stack.aws_client(local_stack, "dynamodb")

    def ours() -> list[dict[str, Any]]:
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=deployed["metadata_table_name"],
            FilterExpression="#owner = :o",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":o": {"S": source_id}},
        )
        return [item for page in pages for item in page["Items"]]

    deadline, items = time.monotonic() + 300, []
    while True:
        for _ in range(10):
            kafka.poll_once()
            worker.pollers[0].poll_once(wait_s=0)
        items = ours()
        if len(items) >= 200 and {i["status"]["S"] for i in items} == {"PROCESSED"}:
            break
        assert time.monotonic() < deadline, (len(items), kafka.stats, worker.pollers[0].stats)
    kafka.close()

    coordinates = [(int(i["kafka_partition"]["N"]), int(i["kafka_offset"]["N"])) for i in items]
    assert len(items) == 200 and len(set(coordinates)) == 200  # stored once each
    assert {partition for partition, _ in coordinates} == {0, 1, 2}
    assert not set(coordinates) & set(expected_reasons)  # no hostile record became an item
    assert all(i["renditions"]["M"] for i in items)
    leftover = s3.list_objects_v2(Bucket=raw_bucket, Prefix=f"staging/{source_id}/").get("KeyCount", 0)
    assert leftover == 0  # every staged claim-check object was moved under raw/

    sqs = stack.aws_client(local_stack, "sqs")
    reported: dict[tuple[int, int], str] = {}
    for _ in range(20):
        messages = sqs.receive_message(
            QueueUrl=deployed["kafka_rejects_queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            if body["topic"] == topic and (body["partition"], body["offset"]) in expected_reasons:
                reported[(body["partition"], body["offset"])] = body["reason"]
                sqs.delete_message(QueueUrl=deployed["kafka_rejects_queue_url"], ReceiptHandle=message["ReceiptHandle"])
        if len(reported) == len(expected_reasons):
            break
    assert reported == expected_reasons


class DurableBroker:
    """A second Tansu whose storage is a bucket in the session's moto, so that it can be restarted with its topics,
    records and committed offsets (the session's broker keeps them in memory only)."""

    def __init__(self, cfg: stack.StackConfig, bucket: str, log_dir: Path) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log_path = log_dir / "durable-tansu.log"
        self.env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT": cfg.aws_endpoint,
            "AWS_ALLOW_HTTP": "true",  # object_store (Tansu's S3 client) refuses plain http otherwise
        }
        self.bucket = bucket
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *(str(stack.tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url),
                    *("--storage-engine", f"s3://{self.bucket}/"),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        deadline = time.monotonic() + 20
        while True:
            try:
                admin.list_topics(timeout=1)
                return
            except Exception:
                assert time.monotonic() < deadline, self.log_path.read_text()[-2000:]
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # by the PID we started, nothing else
            self.process.wait(10)
            self.process = None


def test_a_broker_restart_mid_stream_loses_and_duplicates_nothing(
    local_stack: stack.StackConfig, deployed: dict[str, Any], kafka_function: ModuleType, tmp_path: Path
) -> None:
    bucket = f"tansu-{time.time_ns()}"
    stack.aws_client(local_stack, "s3").create_bucket(Bucket=bucket)
    broker = DurableBroker(local_stack, bucket, tmp_path)
    broker.start()
    try:
        durable = stack.StackConfig(run_dir=tmp_path, kafka_port=broker.port)
        topic = new_topic(durable)
        png_type: list[Header] = [("content-type", b"image/png")]
        produce(durable, topic, [(n % 3, png(300 + n), png_type) for n in range(18)])

        poller = KafkaPoller(
            KafkaMapping("kafka_ingest", broker.bootstrap, (topic,), "ingest", batch_size=4, batching_window_s=0.5),
            InProcess(kafka_function),
            log=lambda _m: None,
        )
        while poller.stats.records < 6:
            poller.poll_once()
        broker.stop()  # mid-stream: the consumer is still open
        broker.start()
        produce(durable, topic, [(n % 3, png(400 + n), png_type) for n in range(6)])  # and more arrive
        deadline = time.monotonic() + 120
        while len(stored(local_stack, deployed, topic)) < 24:
            assert time.monotonic() < deadline, (poller.stats, stored(local_stack, deployed, topic))
            try:
                poller.poll_once()
            except Exception:  # what run_kafka_forever does: reconnect and resume from the committed offsets
                poller.close()
        poller.close()
    finally:
        broker.stop()

    offsets = stored(local_stack, deployed, topic)
    assert len(offsets) == 24 and len(set(offsets)) == 24
    assert sorted({partition for partition, _ in offsets}) == [0, 1, 2]
