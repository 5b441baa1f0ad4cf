"""kafka_ingest handler + imgpipe.kafka_ingest against in-process moto (S3, DynamoDB, SQS, KMS): the MSK event
shape (AWS's documented sample), inline and claim-check records, typed rejections on the rejects queue,
replays and producer retries stored once, transient failures reported per record."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.kafka_ingest import KafkaRecord, RecordRejected
from imgpipe.models import ImageStatus, Source
from scripts.local.events import msk_event, msk_record
from scripts.local.lambda_host import LocalContext, load_handler
from tests.emf import emitted_metrics

RAW, TABLE, IDEMPOTENCY = "raw-bucket", "images", "kafka-idempotency"
SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "events" / "msk_sample.json"
CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/imgpipe/0000"


@pytest.fixture
def function(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "imgpipe",
        "AWS_LAMBDA_FUNCTION_NAME": "kafka_ingest",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=RAW)
        dynamodb = boto3.client("dynamodb")
        for table, key in ((TABLE, "image_id"), (IDEMPOTENCY, "id")):
            dynamodb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        for name, value in {
            "RAW_BUCKET": RAW,
            "RAW_PREFIX": "raw/",
            "CLAIM_CHECK_PREFIX": "staging/",
            "TABLE_NAME": TABLE,
            "IDEMPOTENCY_TABLE": IDEMPOTENCY,
            "KMS_KEY_ARN": boto3.client("kms").create_key()["KeyMetadata"]["Arn"],
            "REJECTS_QUEUE_URL": boto3.client("sqs").create_queue(QueueName="kafka-rejects")["QueueUrl"],
            "MAX_INLINE_BYTES": str(64 * 1024),
            # The tenants of this topic's sources (Terraform's kafka.source_tenants / default_tenant).
            "SOURCE_TENANTS_JSON": json.dumps({"camera-*": "cameras", "caméra-7": "cameras-fr"}),
            "DEFAULT_TENANT": "images-team",
        }.items():
            monkeypatch.setenv(name, value)
        module = load_handler("kafka_ingest")
        for cached in (module.service, module.rejects_queue, module.idempotency_config, module.ingest_once):
            cached.cache_clear()
        yield module


def png(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def inline(offset: int, data: bytes, partition: int = 0, **headers: str) -> dict[str, Any]:
    pairs = [("content-type", "image/png"), *((k.replace("_", "-"), v) for k, v in headers.items())]
    return msk_record("images", partition, offset, data, [(k, v.encode()) for k, v in pairs])


def invoke(function: ModuleType, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = function.handler(msk_event(records, CLUSTER), LocalContext("kafka_ingest", timeout_s=30))
    return list(response["batchItemFailures"])


def items() -> list[dict[str, Any]]:
    scanned = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in scanned]


def raw_keys(prefix: str = "raw/") -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=RAW, Prefix=prefix).get("Contents", [])]


def rejects() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="kafka-rejects")["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


def test_aws_documented_sample_event_is_read_and_its_text_value_rejected(function: ModuleType) -> None:
    event = json.loads(SAMPLE.read_text())

    response = function.handler(event, LocalContext("kafka_ingest", timeout_s=30))

    assert response["batchItemFailures"] == []
    [rejected] = rejects()
    assert rejected["reason"] == "unsupported_type"  # "Hello, this is a test." with no content-type header
    assert (rejected["topic"], rejected["partition"], rejected["offset"]) == ("mytopic", 0, 15)
    assert rejected["header_names"] == ["headerKey"] and rejected["value_bytes"] == 22
    assert raw_keys() == [] and items() == []


def test_inline_images_are_stored_with_their_coordinates(function: ModuleType) -> None:
    failures = invoke(function, [inline(7, png(), filename="cat.png", source_id="camera-12"), inline(3, png(), 2)])

    assert failures == []
    stored = sorted(items(), key=lambda i: int(i["kafka_offset"]))
    assert [(i["kafka_topic"], int(i["kafka_partition"]), int(i["kafka_offset"])) for i in stored] == [
        ("images", 2, 3),
        ("images", 0, 7),
    ]
    by_offset = {int(i["kafka_offset"]): i for i in stored}
    assert by_offset[7]["owner"] == "camera-12" and by_offset[7]["filename"] == "cat.png"
    assert by_offset[3]["owner"] == "images"  # no source-id: the topic is the owner
    # The tenant comes from configuration: the source's, or the topic's default; it leads the raw key.
    assert (by_offset[7]["tenant_id"], by_offset[3]["tenant_id"]) == ("cameras", "images-team")
    assert by_offset[7]["raw_key"].startswith("raw/cameras/") and by_offset[3]["raw_key"].startswith("raw/images-team/")
    assert {i["source"] for i in stored} == {Source.KAFKA.value} and {i["status"] for i in stored} == {"RECEIVED"}
    assert sorted(raw_keys()) == sorted(i["raw_key"] for i in stored)
    head = boto3.client("s3").head_object(Bucket=RAW, Key=stored[0]["raw_key"])
    assert head["ServerSideEncryption"] == "aws:kms" and head["ContentType"] == "image/png"


def claim_check(
    offset: int, key: str, source_id: str | None = "camera-1", idempotency_key: str | None = None
) -> dict[str, Any]:
    value = json.dumps({"s3_uri": f"s3://{RAW}/{key}", "content_type": "image/png"}).encode()
    headers = [("source-id", source_id.encode())] if source_id else []
    headers += [("idempotency-key", idempotency_key.encode())] if idempotency_key else []
    return msk_record("images", 0, offset, value, headers)


def test_claim_check_records_are_read_from_staging_and_the_staged_copy_removed(function: ModuleType) -> None:
    big = png((900, 700))
    boto3.client("s3").put_object(Bucket=RAW, Key="staging/camera-1/big.png", Body=big)

    assert invoke(function, [claim_check(1, "staging/camera-1/big.png")]) == []

    [item] = items()
    assert int(item["size_bytes"]) == len(big) and int(item["width"]) == 900
    assert raw_keys("staging/") == [] and raw_keys() == [item["raw_key"]]


BAD_RECORDS = [
    (msk_record("images", 0, 10, None), "empty"),
    (msk_record("images", 0, 11, png()), "unsupported_type"),  # no content-type header
    (inline(12, b"<html><script>alert(1)</script></html>"), "unknown_format"),
    (inline(13, png()[:60]), "truncated"),
    (inline(14, png() + b"<?php system($_GET['c']); ?>"), "polyglot"),
    (inline(15, png((300, 300), (1, 2, 3)) + b"\0" * 70_000), "too_large"),  # over MAX_INLINE_BYTES
    (msk_record("images", 0, 16, b'{"s3_uri": '), "bad_envelope"),
    (msk_record("images", 0, 17, b'{"s3_uri": "s3://someone-else/staging/x.png"}'), "reference_not_allowed"),
    (msk_record("images", 0, 18, json.dumps({"s3_uri": f"s3://{RAW}/raw/sneaky"}).encode()), "reference_not_allowed"),
    (
        msk_record("images", 0, 19, json.dumps({"s3_uri": f"s3://{RAW}/staging/../raw/x"}).encode()),
        "reference_not_allowed",
    ),
    (
        msk_record("images", 0, 20, json.dumps({"s3_uri": f"s3://{RAW}/staging/images/gone.png"}).encode()),
        "reference_missing",
    ),
    # A source stages under its own folder (a record without source-id: its topic's): not another's.
    (claim_check(21, "staging/camera-2/theirs.png", source_id="camera-1"), "reference_not_allowed"),
    (claim_check(22, "staging/camera-1/mine.png", source_id=None), "reference_not_allowed"),
    (claim_check(23, "staging/camera-1/x/theirs.png", source_id="camera-1/x"), "reference_not_allowed"),
]


def test_bad_records_are_rejected_with_reasons_while_neighbours_are_stored(
    function: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [inline(0, png())] + [record for record, _ in BAD_RECORDS] + [inline(99, png())]
    capsys.readouterr()

    assert invoke(function, records) == []  # nothing retried: every offset advances

    assert sorted(int(i["kafka_offset"]) for i in items()) == [0, 99]
    assert len(raw_keys()) == 2
    reported = []
    for _ in range(3):
        reported += rejects()
    assert sorted((r["offset"], r["reason"]) for r in reported) == sorted(
        (record["offset"], reason) for record, reason in BAD_RECORDS
    )
    rejected_metrics = [m for m in emitted_metrics(capsys.readouterr().out) if m[0] == "RecordsRejected"]
    assert len(rejected_metrics) == len(BAD_RECORDS)
    assert {m[1]["reason"] for m in rejected_metrics} == {reason for _, reason in BAD_RECORDS}


def test_a_replayed_batch_stores_and_reports_nothing_twice(function: ModuleType) -> None:
    batch = [inline(0, png()), inline(1, b"not an image at all")]
    invoke(function, batch)
    first_items, first_keys, first_rejects = items(), raw_keys(), rejects()

    invoke(function, batch)  # e.g. a new consumer group reading the topic from the beginning

    assert items() == first_items and raw_keys() == first_keys
    assert len(first_rejects) == 1 and rejects() == []


def test_a_producer_retry_with_the_same_idempotency_key_is_stored_once(function: ModuleType) -> None:
    first = inline(5, png(), idempotency_key="upload-42", source_id="camera-1")
    retry = inline(6, png(), idempotency_key="upload-42", source_id="camera-1")  # new offset, same key
    other_source = inline(7, png(), idempotency_key="upload-42", source_id="camera-2")

    invoke(function, [first, retry, other_source])

    assert sorted(int(i["kafka_offset"]) for i in items()) == [5, 7]


def test_a_transient_failure_is_reported_per_record_and_leaves_nothing(
    function: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    function.service.cache_clear()

    failures = invoke(function, [inline(3, png()), msk_record("images", 1, 4, None)])

    assert failures == [{"itemIdentifier": {"partition": "images-0", "offset": 3}}]
    # The failure is logged once, with its cause, through the function's logger (not "logged below", then nothing).
    [logged] = [r for r in caplog.records if r.levelno == logging.WARNING and r.exc_info]
    assert logged.exc_info is not None and "ResourceNotFoundException" in repr(logged.exc_info[1])
    assert raw_keys() == []  # the object written before the failed item write was removed
    monkeypatch.setenv("TABLE_NAME", TABLE)
    function.service.cache_clear()
    assert invoke(function, [inline(3, png())]) == []  # the retry is not blocked by the failed attempt
    assert [int(i["kafka_offset"]) for i in items()] == [3]


def test_header_values_must_be_short_utf8() -> None:
    record = KafkaRecord("t", 0, 1, 0, b"x", {"Content-Type": b"\xff\xfe"})
    with pytest.raises(RecordRejected) as err:
        record.header("content-type")
    assert err.value.reason == "bad_envelope"
    assert KafkaRecord("t", 0, 1, 0, b"x", {"FileName": b" a.png "}).header("filename") == "a.png"


def test_dedup_key_prefers_the_producers_key_scoped_by_source() -> None:
    assert KafkaRecord("t", 2, 9, 0, b"").dedup_key() == "offset:t:2:9"
    keyed = KafkaRecord("t", 2, 9, 0, b"", {"idempotency-key": b"k1", "source-id": b"cam"})
    assert keyed.dedup_key() == "key:cam:k1"
    assert KafkaRecord("t", 0, 1, 0, b"", {"idempotency-key": b"k1"}).dedup_key() == "key:t:k1"


def test_stored_items_are_received_and_expire_with_the_retention(function: ModuleType) -> None:
    invoke(function, [inline(0, png())])
    [raw_item] = items()
    item = MetadataTable(boto3.client("dynamodb"), TABLE).get(raw_item["image_id"])
    assert item is not None and item.status is ImageStatus.RECEIVED
    assert 7 * 86400 - 60 <= item.expires_at - int(time.time()) <= 7 * 86400


def test_non_ascii_headers_arrive_as_signed_bytes_and_are_read_back(function: ModuleType) -> None:
    record = inline(4, png(), filename="crème brûlée.png", source_id="caméra-7")
    assert min(min(values) for header in record["headers"] for values in header.values()) < 0  # as MSK sends them

    assert invoke(function, [record]) == []

    [stored] = items()
    assert (stored["filename"], stored["owner"]) == ("crème brûlée.png", "caméra-7")


def test_an_unreadable_idempotency_key_rejects_the_record_instead_of_retrying_it(function: ModuleType) -> None:
    bad_key = msk_record("images", 0, 8, png(), [("content-type", b"image/png"), ("idempotency-key", b"\xff\xfe")])
    too_long = msk_record("images", 0, 9, png(), [("content-type", b"image/png"), ("source-id", b"s" * 300)])

    assert invoke(function, [bad_key, too_long, inline(10, png())]) == []  # rejected, not failed

    assert sorted((r["offset"], r["reason"]) for r in rejects()) == [(8, "bad_envelope"), (9, "bad_envelope")]
    assert [int(i["kafka_offset"]) for i in items()] == [10]


def test_received_records_and_ingest_latency_are_counted_once_per_record(
    function: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    sent_ms = int(time.time() * 1000) - 1500  # produced 1.5 s ago
    stored = msk_record("images", 0, 1, png(), [("content-type", b"image/png")], timestamp_ms=sent_ms)
    bad = msk_record("images", 0, 2, b"junk", [("content-type", b"image/png")], timestamp_ms=sent_ms)
    capsys.readouterr()

    assert invoke(function, [stored, bad]) == []

    metrics = emitted_metrics(capsys.readouterr().out)
    received = [values for name, _, values in metrics if name == "RecordsReceived"]
    latency = [values for name, _, values in metrics if name == "IngestLatency"]
    assert received == [[1.0, 1.0]]  # both records, stored or not
    assert len(latency) == 1 and len(latency[0]) == 1 and 1500 <= latency[0][0] < 60_000  # only the stored one

    capsys.readouterr()
    assert invoke(function, [stored]) == []  # a replay is received again but is no new ingest
    replayed = emitted_metrics(capsys.readouterr().out)
    assert [n for n, _, _ in replayed if n == "IngestLatency"] == []


def test_a_record_from_a_source_no_tenant_is_configured_for_is_rejected_before_any_read(
    function: ModuleType,
) -> None:
    failures = invoke(function, [inline(1, png(), source_id="stranger"), inline(2, png(), source_id="camera-9")])
    assert failures == []  # refused records are reported to the rejects queue, not retried
    stored = {int(item["kafka_offset"]): item for item in items()}
    assert set(stored) == {2} and stored[2]["tenant_id"] == "cameras"
    (reject,) = rejects()
    assert (reject["reason"], reject["offset"]) == ("unknown_source", 1)


def test_source_tenants_resolve_exact_names_then_the_longest_pattern() -> None:
    from imgpipe.kafka_ingest import RecordRejected, SourceTenants

    tenants = SourceTenants({"partner-*": "partners", "partner-a-*": "partner-a", "partner-b": "b"}, None)
    assert tenants.tenant_of("partner-b") == "b"
    assert tenants.tenant_of("partner-a-7") == "partner-a"
    assert tenants.tenant_of("partner-z") == "partners"
    for unknown in ("other", None):
        with pytest.raises(RecordRejected) as caught:
            tenants.tenant_of(unknown)
        assert caught.value.reason.value == "unknown_source"
    with pytest.raises(ValueError, match="SOURCE_TENANTS_JSON"):
        SourceTenants.parse(json.dumps({"x": "Not A Tenant"}), None)
    with pytest.raises(ValueError, match="DEFAULT_TENANT"):
        SourceTenants.parse(None, "../x")


def test_another_sources_staged_image_is_neither_ingested_nor_deleted(function: ModuleType) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=RAW, Key="staging/camera-2/theirs.png", Body=png())
    assert invoke(function, [claim_check(1, "staging/camera-2/theirs.png", source_id="camera-1")]) == []
    assert items() == [] and raw_keys("staging/") == ["staging/camera-2/theirs.png"]
    [reported] = rejects()
    assert reported["reason"] == "reference_not_allowed"


@pytest.mark.parametrize(
    ("staged", "reason"),
    [(b"not an image", "unknown_format"), (png()[:70], "truncated"), (png() + b"<script>x</script>", "polyglot")],
    ids=["not-an-image", "truncated", "polyglot"],
)
def test_a_rejected_claim_checks_staged_object_is_deleted(function: ModuleType, staged: bytes, reason: str) -> None:
    boto3.client("s3").put_object(Bucket=RAW, Key="staging/camera-1/bad", Body=staged)
    assert invoke(function, [claim_check(1, "staging/camera-1/bad")]) == []
    assert [r["reason"] for r in rejects()] == [reason]
    assert raw_keys("staging/") == [] and items() == []


def test_a_reused_idempotency_key_with_other_bytes_is_rejected_as_a_conflict(
    function: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    first = inline(1, png(colour=(1, 2, 3)), idempotency_key="upload-7", source_id="camera-1")
    same = inline(2, png(colour=(1, 2, 3)), idempotency_key="upload-7", source_id="camera-1")
    other_bytes = inline(3, png(colour=(9, 9, 9)), idempotency_key="upload-7", source_id="camera-1")
    capsys.readouterr()

    assert invoke(function, [first, same, other_bytes]) == []

    [stored] = items()
    assert int(stored["kafka_offset"]) == 1  # the producer's retry (same bytes) is the same image
    assert [(r["offset"], r["reason"]) for r in rejects()] == [(3, "idempotency_conflict")]
    rejected = [m for m in emitted_metrics(capsys.readouterr().out) if m[0] == "RecordsRejected"]
    assert [m[1]["reason"] for m in rejected] == ["idempotency_conflict"]  # counted, not swallowed


class Killed(BaseException):
    """The process dies here: no except or finally of the code under test may act on it."""


def _kill(*_args: Any, **_kwargs: Any) -> None:
    raise Killed


def _expire_in_progress_records() -> None:
    ddb = boto3.client("dynamodb")
    for item in ddb.scan(TableName=IDEMPOTENCY)["Items"]:
        if item.get("status", {}).get("S") == "INPROGRESS":
            ddb.delete_item(TableName=IDEMPOTENCY, Key={"id": item["id"]})


@pytest.mark.parametrize("dies", ["after-the-claim", "after-the-object", "after-the-item", "after-the-staged-delete"])
@pytest.mark.parametrize("kind", ["inline", "claim-check"])
def test_a_retry_after_a_crash_between_any_two_writes_stores_exactly_one_image(
    function: ModuleType, monkeypatch: pytest.MonkeyPatch, dies: str, kind: str
) -> None:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    if kind == "inline":
        record = inline(5, png(), idempotency_key="crash-1", source_id="camera-1")
    else:
        boto3.client("s3").put_object(Bucket=RAW, Key="staging/camera-1/crash.png", Body=png())
        record = claim_check(5, "staging/camera-1/crash.png", idempotency_key="crash-1")
    service = function.service()
    with monkeypatch.context() as crash:
        if dies == "after-the-claim":
            crash.setattr(service._raw, "put", _kill)
        elif dies == "after-the-object":
            crash.setattr(service._table, "put_new", _kill)
        elif dies == "after-the-item":
            if kind == "inline":
                crash.setattr(DynamoDBPersistenceLayer, "_update_record", _kill)
            else:
                crash.setattr(service._staging, "delete", _kill)
        else:
            crash.setattr(DynamoDBPersistenceLayer, "_update_record", _kill)
        with pytest.raises(Killed):
            invoke(function, [record])
    _expire_in_progress_records()  # what time does to the dead attempt's record

    assert invoke(function, [record]) == []

    [stored] = items()  # exactly one image ...
    assert raw_keys() == [stored["raw_key"]]  # ... no orphan beside it
    assert raw_keys("staging/") == []  # and the staged copy gone
    assert rejects() == []


def test_each_delivery_reads_its_claim_once(function: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """The conflict check and the ingest share one read of the record's claim: a fresh record, a replay and a
    conflicting record each cost one claim read (a DynamoDB round trip per record, on AWS as locally)."""
    from imgpipe.adapters.request_claims import RequestClaims

    reads: list[str] = []
    find = RequestClaims.find

    def counted(self: RequestClaims, key: str, now: Any) -> Any:
        reads.append(key)
        return find(self, key, now)

    monkeypatch.setattr(RequestClaims, "find", counted)
    fresh = [inline(n, png(colour=(n, 2, 3)), idempotency_key=f"k-{n}", source_id="camera-1") for n in range(3)]
    assert invoke(function, fresh) == []
    assert len(reads) == 3 and len(items()) == 3
    replay_and_conflict = [fresh[0], inline(9, png(colour=(9, 9, 9)), idempotency_key="k-1", source_id="camera-1")]
    assert invoke(function, replay_and_conflict) == []
    assert len(reads) == 5 and len(items()) == 3
    assert [(r["offset"], r["reason"]) for r in rejects()] == [(9, "idempotency_conflict")]


def test_a_claim_written_after_the_read_by_a_concurrent_attempt_is_joined(function: ModuleType) -> None:
    """Another attempt of the same record (a duplicate delivery running at once) claims the key and stores its
    image between this attempt's read of the claim and its own claim: this attempt joins that image."""
    service = function.service()
    parsed = function.kafka_record(function.KafkaEventRecord(inline(4, png(), idempotency_key="dup-1")))
    read = service.claim_of(parsed)
    assert read is None
    theirs = service.ingest(parsed, service.claim_of(parsed))  # the other attempt, from its own read to its item

    ours = service.ingest(parsed, read)

    [item] = items()
    assert ours["image_id"] == theirs["image_id"] == item["image_id"]
    assert raw_keys() == [item["raw_key"]]


def test_the_adversarial_set_is_stored_or_refused_for_its_reason_and_nothing_is_retried(function: ModuleType) -> None:
    from imgpipe.validation import ValidationError, sniff
    from tests import adversarial

    def declared(data: bytes) -> str:
        try:
            return sniff(data).mime_type
        except ValidationError:
            return "image/png"

    s3 = boto3.client("s3")
    cases = [*adversarial.attacks(), *adversarial.seeds()]
    records = []
    for offset, case in enumerate(cases):
        if len(case.data) <= 64 * 1024:  # the fixture's MAX_INLINE_BYTES
            headers = [("content-type", declared(case.data).encode()), ("source-id", b"camera-1")]
            records.append(msk_record("images", 0, offset, case.data, headers))
        else:
            s3.put_object(Bucket=RAW, Key=f"staging/camera-1/{case.name}", Body=case.data)
            envelope = {"s3_uri": f"s3://{RAW}/staging/camera-1/{case.name}", "content_type": declared(case.data)}
            records.append(msk_record("images", 0, offset, json.dumps(envelope).encode(), [("source-id", b"camera-1")]))

    assert invoke(function, records) == []  # every record decided: none retried

    reported = []
    while batch := rejects():
        reported += batch
    refused = {cases[r["offset"]].name: r["reason"] for r in reported}
    stored = {cases[int(i["kafka_offset"])].name for i in items()}
    for case in cases:
        if case.reasons:
            assert refused.get(case.name) in {r.value for r in case.reasons}, (case.name, refused.get(case.name))
        else:
            assert case.name in stored, (case.name, refused.get(case.name))
    assert raw_keys("staging/") == []  # every staged object consumed, stored or refused
