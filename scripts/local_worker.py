"""Local event-source worker: runs the SQS event source mappings Terraform deployed into the emulator.

    python -m scripts.local_worker serve --port 8081     (started in the background by `make up`)

What Lambda's poller does on AWS, done here because moto cannot run functions: every SQS mapping found in the
emulator's Lambda (function, queue, batch size, batching window, ReportBatchItemFailures) gets a poller that
receives batches from the emulator's real queue, invokes the function in-process with the SQS event shape
(scripts/local_lambda.py), deletes what succeeded, and makes what failed visible again. The queue's own redrive
policy then moves a message that keeps failing to its DLQ after maxReceiveCount receives — nothing is re-declared.

Differences from AWS, on purpose: failed messages become visible again after IMGPIPE_LOCAL_RETRY_SECONDS (2 s)
instead of the queue's visibility timeout, so retries and dead-lettering take seconds locally; and mappings
run whatever their state, because envs/local creates them disabled (an enabled mapping makes moto itself
receive and try to invoke through Docker on every SendMessage, which dead-letters messages unprocessed).
GET /status on the port answers what each poller did.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scripts import stack
from scripts.events import sqs_event
from scripts.local_kafka import KafkaMapping, KafkaPoller
from scripts.local_lambda import FunctionHost
from scripts.local_streams import StreamPoller, declared_stream_mappings, discover_stream_mappings

RECEIVE_MAX = 10  # SQS ReceiveMessage's own limit per call


@dataclass(frozen=True)
class SqsMapping:
    uuid: str
    function_name: str
    queue_arn: str
    queue_url: str
    batch_size: int
    batching_window_s: int
    report_batch_item_failures: bool
    state: str


@dataclass
class PollerStats:
    batches: int = 0
    messages: int = 0
    succeeded: int = 0
    failed: int = 0
    last_error: str | None = None
    last_batch_at: float | None = None


def discover_sqs_mappings(lambda_client: Any, sqs_client: Any) -> list[SqsMapping]:
    found = []
    for page in lambda_client.get_paginator("list_event_source_mappings").paginate():
        for esm in page.get("EventSourceMappings", []):
            arn = esm.get("EventSourceArn", "")
            if not arn.startswith("arn:aws:sqs:"):
                continue
            _, _, _, _, account, queue_name = arn.split(":", 5)
            url = sqs_client.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            found.append(
                SqsMapping(
                    uuid=esm["UUID"],
                    function_name=esm["FunctionArn"].split(":function:", 1)[1].split(":", 1)[0],
                    queue_arn=arn,
                    queue_url=url,
                    batch_size=int(esm.get("BatchSize", 10)),
                    batching_window_s=int(esm.get("MaximumBatchingWindowInSeconds", 0)),
                    report_batch_item_failures="ReportBatchItemFailures" in esm.get("FunctionResponseTypes", []),
                    state=str(esm.get("State", "")),
                )
            )
    return found


class SqsPoller:
    def __init__(
        self,
        mapping: SqsMapping,
        host: FunctionHost,
        sqs: Any,
        region: str = stack.LOCAL_REGION,
        retry_seconds: int = 2,
        log: Any = print,
    ) -> None:
        self.mapping = mapping
        self.stats = PollerStats()
        self._host = host
        self._sqs = sqs
        self._region = region
        self._retry_seconds = retry_seconds
        self._log = log

    def receive_batch(self, wait_s: int = 1) -> list[dict[str, Any]]:
        """Up to batch_size messages, gathered for at most the batching window once the first one arrived."""
        batch: list[dict[str, Any]] = []
        deadline: float | None = None
        while len(batch) < self.mapping.batch_size:
            got = self._sqs.receive_message(
                QueueUrl=self.mapping.queue_url,
                MaxNumberOfMessages=min(RECEIVE_MAX, self.mapping.batch_size - len(batch)),
                WaitTimeSeconds=0 if batch else wait_s,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            batch += got
            if not batch:
                return []
            if deadline is None:
                deadline = time.monotonic() + self.mapping.batching_window_s
            if time.monotonic() >= deadline:
                break
            if not got:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        return batch

    def run_batch(self, messages: list[dict[str, Any]]) -> set[str]:
        """Invokes the function with one batch; returns the ids of the messages that failed."""
        ids = {m["MessageId"] for m in messages}
        try:
            response = self._host.invoke(
                self.mapping.function_name, sqs_event(messages, self.mapping.queue_arn, self._region)
            )
        except Exception as err:  # the whole invocation failed: every message is retried, as on AWS
            self.stats.last_error = f"{type(err).__name__}: {err}"
            self._log(f"local-worker: {self.mapping.function_name} raised {err!r}; {len(ids)} message(s) retried")
            failed = ids
        else:
            if self.mapping.report_batch_item_failures and isinstance(response, dict):
                reported = {f.get("itemIdentifier") for f in response.get("batchItemFailures") or []}
                # An identifier that is not in the batch makes Lambda treat the whole batch as failed.
                failed = ids if reported - ids else {i for i in reported if i in ids}
            else:
                failed = set()
        by_id = {m["MessageId"]: m for m in messages}
        done = [by_id[i] for i in ids - failed]
        for start in range(0, len(done), RECEIVE_MAX):
            chunk = done[start : start + RECEIVE_MAX]
            self._sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)],
            )
        for message_id in failed:
            self._sqs.change_message_visibility(
                QueueUrl=self.mapping.queue_url,
                ReceiptHandle=by_id[message_id]["ReceiptHandle"],
                VisibilityTimeout=self._retry_seconds,
            )
        self.stats.batches += 1
        self.stats.messages += len(ids)
        self.stats.succeeded += len(ids) - len(failed)
        self.stats.failed += len(failed)
        self.stats.last_batch_at = time.time()
        return failed

    def poll_once(self, wait_s: int = 1) -> int:
        messages = self.receive_batch(wait_s)
        if messages:
            self.run_batch(messages)
        return len(messages)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as err:  # the emulator restarting, a deleted queue: report and keep polling
                self.stats.last_error = f"{type(err).__name__}: {err}"
                self._log(f"local-worker: polling {self.mapping.queue_url} failed: {err!r}")
                stop.wait(2)


def kafka_mappings(outputs: dict[str, Any]) -> list[KafkaMapping]:
    """The Kafka source the deployment declares (pipeline output kafka_event_source) when no real event source
    mapping consumes it: moto refuses Kafka mappings, so envs/local declares one without creating it."""
    source = outputs.get("kafka_event_source")
    if not isinstance(source, dict) or source.get("mapping_created"):
        return []
    return [
        KafkaMapping(
            function_name=str(source["function_name"]),
            bootstrap_servers=",".join(source["bootstrap_servers"]),
            topics=(str(source["topic"]),),
            consumer_group_id=str(source["consumer_group_id"]),
            batch_size=int(source["batch_size"]),
            batching_window_s=float(source["batching_window_seconds"]),
            starting_position=str(source["starting_position"]),
            on_failure_queue_url=source.get("on_failure_queue_url"),
        )
    ]


def ensure_topic(bootstrap_servers: str, topic: str, partitions: int = 3) -> None:
    """The embedded broker creates nothing by itself (and cannot add partitions later): create the declared
    topic once, with the partition count the local runtime is tested with."""
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    if topic in admin.list_topics(timeout=10).topics:
        return
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values():
        try:
            future.result(15)
        except Exception as err:  # a concurrent creator won: fine
            if "TOPIC_ALREADY_EXISTS" not in str(err):
                raise


def run_stream_forever(poller: StreamPoller, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            if poller.poll_once() == 0:
                stop.wait(1)  # Lambda polls each shard about once a second
        except Exception as err:  # emulator restarting: report, resume from the checkpoints kept
            poller.stats.last_error = f"{type(err).__name__}: {err}"
            print(f"local-worker: stream {poller.mapping.stream_arn} failed: {err!r}", flush=True)
            stop.wait(2)


def run_kafka_forever(poller: KafkaPoller, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            poller.poll_once()
        except Exception as err:  # broker restarting: report, reconnect, resume from committed offsets
            poller.stats.last_error = f"{type(err).__name__}: {err}"
            poller.log(f"local-kafka: {poller.mapping.topics} failed: {err!r}")
            poller.close()
            stop.wait(2)
    poller.close()


@dataclass
class Worker:
    pollers: list[SqsPoller]
    kafka_pollers: list[KafkaPoller] = field(default_factory=list)
    stream_pollers: list[StreamPoller] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> list[threading.Thread]:
        threads = (
            [
                threading.Thread(target=p.run_forever, args=(self.stop,), name=f"poll-{p.mapping.uuid}", daemon=True)
                for p in self.pollers
            ]
            + [
                threading.Thread(target=run_kafka_forever, args=(k, self.stop), name=f"kafka-{n}", daemon=True)
                for n, k in enumerate(self.kafka_pollers)
            ]
            + [
                threading.Thread(
                    target=run_stream_forever, args=(p, self.stop), name=f"stream-{p.mapping.uuid}", daemon=True
                )
                for p in self.stream_pollers
            ]
        )
        for thread in threads:
            thread.start()
        return threads

    def status(self) -> dict[str, Any]:
        return {
            "mappings": [{**asdict(p.mapping), **asdict(p.stats)} for p in self.pollers],
            "kafka": [{**asdict(k.mapping), **asdict(k.stats)} for k in self.kafka_pollers],
            "streams": [{**asdict(p.mapping), **asdict(p.stats)} for p in self.stream_pollers],
        }


def build(cfg: stack.StackConfig, retry_seconds: int | None = None, outputs: dict[str, Any] | None = None) -> Worker:
    """Pollers for everything deployed: SQS mappings read from the emulator, the Kafka source from `outputs`
    (ENV=local's Terraform outputs when not given)."""
    lambda_client = stack.aws_client(cfg, "lambda")
    sqs = stack.aws_client(cfg, "sqs")
    host = FunctionHost(lambda_client, cfg)
    retry = retry_seconds if retry_seconds is not None else int(os.environ.get("IMGPIPE_LOCAL_RETRY_SECONDS", "2"))
    region = cfg.client_env()["AWS_DEFAULT_REGION"]
    if outputs is None:
        from scripts import tf

        outputs = tf.outputs("local", tf.run_env("local", cfg))
    kafka = []
    for mapping in kafka_mappings(outputs):
        ensure_topic(mapping.bootstrap_servers, mapping.topics[0])
        kafka.append(KafkaPoller(mapping, host, sqs=sqs))
    streams = stack.aws_client(cfg, "dynamodbstreams")
    return Worker(
        [SqsPoller(m, host, sqs, region, retry) for m in discover_sqs_mappings(lambda_client, sqs)],
        kafka,
        [
            StreamPoller(m, host, streams)
            for m in discover_stream_mappings(lambda_client) + declared_stream_mappings(outputs)
        ],
    )


def make_status_server(worker: Worker, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(worker.status(), indent=2).encode()
            self.send_response(200 if self.path.rstrip("/") in ("", "/status") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.local_worker", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["serve", "mappings"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("IMGPIPE_WORKER_PORT", "8081")))
    args = parser.parse_args(argv)
    cfg = stack.StackConfig.from_env()
    worker = build(cfg)
    if args.command == "mappings":
        for poller in worker.pollers:
            m = poller.mapping
            print(
                f"{m.queue_arn.rsplit(':', 1)[1]} -> {m.function_name} (batch {m.batch_size}, window "
                f"{m.batching_window_s}s, partial failures {'on' if m.report_batch_item_failures else 'off'}, "
                f"{m.state.lower()} in the emulator)"
            )
        for kafka in worker.kafka_pollers:
            k = kafka.mapping
            print(
                f"kafka {','.join(k.topics)} @ {k.bootstrap_servers} (group {k.consumer_group_id}) "
                f"-> {k.function_name} (batch {k.batch_size}, window {k.batching_window_s:g}s, "
                f"from {k.starting_position.lower()})"
            )
        for stream in worker.stream_pollers:
            sm = stream.mapping
            print(
                f"stream {sm.stream_arn.split(':table/', 1)[1]} -> {sm.function_name} (batch {sm.batch_size}, from "
                f"{sm.starting_position.lower()}, partial failures {'on' if sm.report_batch_item_failures else 'off'})"
            )
        return 0
    worker.start()
    names = [f"{p.mapping.queue_arn.rsplit(':', 1)[1]} -> {p.mapping.function_name}" for p in worker.pollers]
    names += [f"kafka {','.join(k.mapping.topics)} -> {k.mapping.function_name}" for k in worker.kafka_pollers]
    names += [
        f"stream {p.mapping.stream_arn.split('/')[1]} -> {p.mapping.function_name}" for p in worker.stream_pollers
    ]
    print(f"local-worker: polling {len(names)} source(s): {', '.join(names) or 'none deployed'}", flush=True)
    server = make_status_server(worker, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        worker.stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
