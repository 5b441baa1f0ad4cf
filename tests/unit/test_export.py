"""Metadata export: stream changes -> schema rows, tombstones, partition files; the handler on moto."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from imgpipe.export import EXPORT_COLUMNS, Change, MalformedChange, export_files, export_row
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, RenditionRecord, Source
from scripts.local.events import dynamodb_stream_record
from scripts.local.lambda_host import LocalContext, load_handler
from tests.emf import emitted_metrics

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-images/stream/2026-12-01T00:00:00.000"
AT = datetime(2026, 12, 1, 9, 15, tzinfo=UTC)


def item(status: ImageStatus = ImageStatus.RECEIVED, **fields: Any) -> dict[str, Any]:
    created = AT - timedelta(seconds=3)
    return ImageItem.new(
        new_image_id(int(created.timestamp() * 1000)),
        Source.API,
        status,
        "raw/2026/12/01/x",
        created=created,
        filename="holiday.jpg",
        owner="team-a",
        tenant_id="tenant-a",
        sha256="a" * 64,
        format="jpeg",
        width=4000,
        height=3000,
        size_bytes=2_000_000,
        **fields,
    ).to_record()


def processed(base: dict[str, Any]) -> dict[str, Any]:
    return {
        **base,
        "status": "PROCESSED",
        "processed_at": (AT - timedelta(seconds=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "processing_ms": {"decode": 120, "renditions": 300},
        "renditions": {
            "large": RenditionRecord(key="r/l", format="jpeg", width=1280, height=960, size_bytes=90_000).model_dump(),
            "thumb": RenditionRecord(key="r/t", format="jpeg", width=160, height=120, size_bytes=4_000).model_dump(),
        },
        "camera": {"make": "Imgpipe Optics"},
    }


def test_an_insert_is_an_upsert_row_with_exactly_the_schema_columns() -> None:
    image = item()
    row = export_row(Change("INSERT", "100", AT, image, None))
    assert list(row) == list(EXPORT_COLUMNS)
    assert (row["event"], row["status"], row["source"], row["format"], row["width"]) == (
        "upsert",
        "RECEIVED",
        "api",
        "jpeg",
        4000,
    )
    assert row["event_time"] == "2026-12-01T09:15:00Z" and row["image_id"] == image["image_id"]
    assert row["latency_ms"] is None and row["expired_by_ttl"] is None
    assert row["tenant_id"] == "tenant-a"


def test_a_processed_image_carries_latency_processing_time_and_rendition_totals() -> None:
    before = item()
    row = export_row(Change("MODIFY", "101", AT, processed(before), before))
    assert (row["latency_ms"], row["processing_ms"]) == (2000, 420)
    assert (row["rendition_count"], row["rendition_bytes"]) == (2, 94_000)


def test_nothing_that_identifies_a_person_or_the_content_is_exported() -> None:
    row = export_row(Change("MODIFY", "102", AT, processed(item()), None))
    for private in ("filename", "owner", "sha256", "phash", "camera", "raw_key", "attributes", "dominant_color"):
        assert private not in row
    assert "holiday" not in json.dumps(row) and "team-a" not in json.dumps(row)


def test_removals_are_tombstones_that_say_whether_ttl_did_it() -> None:
    image = item()
    by_ttl = export_row(Change("REMOVE", "103", AT, None, image, by_ttl=True))
    by_audit = export_row(Change("REMOVE", "104", AT, None, image))
    assert (by_ttl["event"], by_ttl["expired_by_ttl"], by_ttl["image_id"]) == ("delete", True, image["image_id"])
    assert by_audit["expired_by_ttl"] is False
    assert by_ttl["status"] is None and by_ttl["format"] is None and by_ttl["size_bytes"] is None  # nothing of it
    # ...but whose it was: a tenant's report filters on it and must see the purge like everyone else's.
    assert by_ttl["tenant_id"] == by_audit["tenant_id"] == "tenant-a"


def test_a_change_without_an_item_image_is_malformed() -> None:
    with pytest.raises(MalformedChange, match="no item image"):
        export_row(Change("REMOVE", "105", AT, None, None))


def test_files_are_partitioned_by_hour_and_identical_when_retried() -> None:
    changes = [
        Change("INSERT", "200", AT, item(), None),
        Change("INSERT", "201", AT + timedelta(minutes=1), item(), None),
        Change("INSERT", "202", AT + timedelta(hours=1), item(), None),
    ]
    files = export_files(changes)
    assert [f.key for f in files] == [
        "exports/v1/dt=2026-12-01/hour=09/200-201.json.gz",
        "exports/v1/dt=2026-12-01/hour=10/202-202.json.gz",
    ]
    assert [f.rows for f in files] == [2, 1] and files[0].sequences == ("200", "201")
    assert [json.loads(line)["sequence"] for line in gzip.decompress(files[0].body).splitlines()] == ["200", "201"]
    assert [(f.key, f.body) for f in export_files(changes)] == [(f.key, f.body) for f in files]


@pytest.fixture
def function(offline_aws: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    boto3.client("s3").create_bucket(Bucket="analytics")
    for name, value in {
        "ANALYTICS_BUCKET": "analytics",
        "KMS_KEY_ARN": boto3.client("kms").create_key()["KeyMetadata"]["Arn"],
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "imgpipe",
        "AWS_LAMBDA_FUNCTION_NAME": "metadata_export",
    }.items():
        monkeypatch.setenv(name, value)
    module = load_handler("metadata_export")
    module.analytics.cache_clear()
    return module


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def exported() -> list[dict[str, Any]]:
    s3 = boto3.client("s3")
    rows = []
    for entry in s3.list_objects_v2(Bucket="analytics").get("Contents", []):
        body = s3.get_object(Bucket="analytics", Key=entry["Key"])["Body"].read()
        rows += [json.loads(line) for line in gzip.decompress(body).splitlines()]
    return rows


def test_the_handler_writes_every_change_once_even_when_the_batch_is_retried(
    function: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    image = item()
    key = {"image_id": image["image_id"]}
    event = stream_event(
        dynamodb_stream_record("INSERT", key, image, None, "300", AT, STREAM),
        dynamodb_stream_record("MODIFY", key, processed(image), image, "301", AT, STREAM),
        dynamodb_stream_record("REMOVE", key, None, processed(image), "302", AT, STREAM, by_ttl=True),
    )
    capsys.readouterr()
    assert function.handler(event, LocalContext("metadata_export", timeout_s=30)) == {"batchItemFailures": []}
    assert function.handler(event, LocalContext("metadata_export", timeout_s=30)) == {
        "batchItemFailures": []
    }  # redelivered

    rows = exported()
    assert [(r["sequence"], r["event"], r["status"]) for r in rows] == [
        ("300", "upsert", "RECEIVED"),
        ("301", "upsert", "PROCESSED"),
        ("302", "delete", None),
    ]
    assert rows[2]["expired_by_ttl"] is True
    assert ("RowsExported", {"service": "metadata_export"}, [3.0]) in emitted_metrics(capsys.readouterr().out)


def test_a_failed_write_reports_the_first_record_of_that_file(
    function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_BUCKET", "no-such-bucket")
    function.analytics.cache_clear()
    image = item()
    event = stream_event(
        dynamodb_stream_record("INSERT", {"image_id": image["image_id"]}, image, None, "400", AT, STREAM),
        dynamodb_stream_record("INSERT", {"image_id": image["image_id"]}, image, None, "401", AT, STREAM),
    )
    assert function.handler(event, LocalContext("metadata_export", timeout_s=30)) == {
        "batchItemFailures": [{"itemIdentifier": "400"}]
    }


def test_a_malformed_record_is_skipped_not_retried_forever(function: ModuleType) -> None:
    image = item()
    event = stream_event(
        dynamodb_stream_record("REMOVE", {"image_id": "x"}, None, None, "500", AT, STREAM),
        dynamodb_stream_record("INSERT", {"image_id": image["image_id"]}, image, None, "501", AT, STREAM),
    )
    assert function.handler(event, LocalContext("metadata_export", timeout_s=30)) == {"batchItemFailures": []}
    assert [r["sequence"] for r in exported()] == ["501"]


def test_the_glue_table_schema_file_is_the_export_schema() -> None:
    """terraform/modules/analytics declares the Glue table from this file; it must say what export_row writes."""
    from pathlib import Path

    from imgpipe.export import PARTITION_KEYS, SCHEMA_VERSION

    schema_file = Path(__file__).resolve().parents[2] / "terraform" / "modules" / "analytics" / "export_schema.json"
    schema = json.loads(schema_file.read_text())
    assert schema["version"] == SCHEMA_VERSION
    assert [(c["name"], c["type"]) for c in schema["columns"]] == list(EXPORT_COLUMNS.items())
    assert [(c["name"], c["type"]) for c in schema["partition_keys"]] == list(PARTITION_KEYS.items())
