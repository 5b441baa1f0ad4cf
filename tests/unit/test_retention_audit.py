"""The retention audit on moto (in-process): what it purges, when, and what it calls a violation."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.adapters.object_store import ObjectStore
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, RenditionRecord, Source
from imgpipe.retention_audit import AuditSettings, RetentionAudit
from scripts.local.lambda_host import LocalContext, load_handler
from tests.emf import emitted_metrics
from tests.stores import versioned_buckets

RAW, PROCESSED, TABLE = "raw", "processed", "images"


@pytest.fixture
def aws(offline_aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name, value in {
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "imgpipe",
        "AWS_LAMBDA_FUNCTION_NAME": "retention_audit",
    }.items():
        monkeypatch.setenv(name, value)
    s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
    versioned_buckets(s3, RAW, PROCESSED)
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "image_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("image_id", "created_day", "created_at")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_day",
                "KeySchema": [
                    {"AttributeName": "created_day", "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    return {
        "s3": s3,
        "table": MetadataTable(dynamodb, TABLE),
        "raw": ObjectStore(s3, RAW, key),
        "processed": ObjectStore(s3, PROCESSED, key),
        "kms_key": key,
    }


def processed_image(aws: dict[str, Any], created: datetime | None = None) -> ImageItem:
    """An item with its raw object (two versions: it was overwritten once) and one rendition."""
    created = created or datetime.now(UTC)
    image_id = new_image_id(int(created.timestamp() * 1000))
    raw_key, rendition_key = f"raw/{created:%Y/%m/%d}/{image_id}", f"renditions/{image_id}/small.jpg"
    for _ in range(2):
        aws["raw"].put(raw_key, b"raw bytes", "image/png")
    aws["processed"].put(rendition_key, b"jpeg bytes", "image/jpeg")
    item = ImageItem.new(
        image_id,
        Source.API,
        ImageStatus.PROCESSED,
        raw_key,
        created=created,
        renditions={"small": RenditionRecord(key=rendition_key, format="jpeg", width=1, height=1, size_bytes=10)},
    )
    aws["table"].put_new(item)
    return item


def versions(aws: dict[str, Any], bucket: str) -> int:
    pages = aws["s3"].get_paginator("list_object_versions").paginate(Bucket=bucket)
    return sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in pages)


def items(aws: dict[str, Any]) -> int:
    return int(boto3.client("dynamodb").scan(TableName=TABLE, Select="COUNT")["Count"])


def auditor(aws: dict[str, Any]) -> RetentionAudit:
    return RetentionAudit(aws["table"], TABLE, aws["raw"], aws["processed"], AuditSettings(retention_days=7))


def test_nothing_is_touched_inside_the_window(aws: dict[str, Any]) -> None:
    processed_image(aws)
    report = auditor(aws).run(datetime.now(UTC) + timedelta(days=6, hours=23))
    assert (report.purged_items, report.purged_objects, report.violations) == (0, 0, [])
    assert (versions(aws, RAW), versions(aws, PROCESSED), items(aws)) == (2, 1, 1)


def test_past_the_window_every_version_and_the_item_go_without_a_violation(aws: dict[str, Any]) -> None:
    item = processed_image(aws)
    aws["s3"].delete_object(Bucket=RAW, Key=item.raw_key)  # a delete marker on top: lifecycle's own first step
    assert versions(aws, RAW) == 3

    report = auditor(aws).run(datetime.now(UTC) + timedelta(days=7, hours=1))

    assert report.purged_items == 1 and report.purged_versions == {RAW: 3, PROCESSED: 1}
    assert report.violations == []  # within the grace AWS's own lag explains
    assert (versions(aws, RAW), versions(aws, PROCESSED), items(aws)) == (0, 0, 0)
    assert auditor(aws).run(datetime.now(UTC) + timedelta(days=7, hours=2)).summary()["purged_items"] == 0


def test_data_older_than_the_window_plus_grace_is_purged_and_reported_as_violations(aws: dict[str, Any]) -> None:
    item = processed_image(aws)
    report = auditor(aws).run(datetime.now(UTC) + timedelta(days=7, hours=49))
    assert report.purged_items == 1 and report.purged_objects == 3
    assert {(v.store, v.key) for v in report.violations} == {(TABLE, item.image_id)}
    assert report.violations[0].overdue_hours >= 48


def test_objects_no_item_describes_are_purged_by_age(aws: dict[str, Any]) -> None:
    aws["raw"].put("raw/2026/orphan", b"left behind by a crash", "image/png")
    aws["processed"].put("renditions/unknown/x.jpg", b"x", "image/jpeg")
    report = auditor(aws).run(datetime.now(UTC) + timedelta(days=10))
    assert report.purged_versions == {RAW: 1, PROCESSED: 1}
    assert {v.key for v in report.violations} == {"raw/2026/orphan", "renditions/unknown/x.jpg"}
    assert versions(aws, RAW) == versions(aws, PROCESSED) == 0


def test_an_expired_item_ttl_has_not_deleted_is_found_through_the_day_index(aws: dict[str, Any]) -> None:
    old = processed_image(aws, created=datetime.now(UTC) - timedelta(days=8))  # TTL is late by a day
    fresh = processed_image(aws)
    report = auditor(aws).run(datetime.now(UTC))
    assert report.purged_items == 1
    assert aws["table"].get(fresh.image_id) is not None
    assert boto3.client("dynamodb").get_item(TableName=TABLE, Key={"image_id": {"S": old.image_id}}).get("Item") is None
    assert aws["raw"].versions_of(old.raw_key) == [] and len(aws["raw"].versions_of(fresh.raw_key)) == 2


def test_settings_refuse_a_window_over_seven_days() -> None:
    with pytest.raises(ValueError, match="between 1 and 7"):
        AuditSettings(retention_days=8)
    with pytest.raises(ValueError, match="grace"):
        AuditSettings(grace=timedelta(hours=-1))


@pytest.fixture
def function(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    for name, value in {
        "RAW_BUCKET": RAW,
        "PROCESSED_BUCKET": PROCESSED,
        "TABLE_NAME": TABLE,
        "KMS_KEY_ARN": aws["kms_key"],
        "RETENTION_DAYS": "7",
    }.items():
        monkeypatch.setenv(name, value)
    module = load_handler("retention_audit")
    module.audit.cache_clear()
    return module


def scheduled_event(at: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/imgpipe-retention-audit"],
        "detail": {},
    }


def test_the_handler_counts_purges_and_always_publishes_violations(
    aws: dict[str, Any], function: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUST_EVENT_TIME", "true")  # the local runtime's time travel
    log = io.StringIO()
    monkeypatch.setattr(function.logger.registered_handler, "stream", log)
    processed_image(aws)
    capsys.readouterr()

    quiet = function.handler(scheduled_event(datetime.now(UTC)), LocalContext("retention_audit", timeout_s=30))
    assert quiet["purged_items"] == 0
    assert emitted_metrics(capsys.readouterr().out) == [
        ("RetentionPurged", {"service": "retention_audit"}, [0.0]),
        ("RetentionViolations", {"service": "retention_audit"}, [0.0]),  # a datapoint even when all is well
    ]

    late = function.handler(
        scheduled_event(datetime.now(UTC) + timedelta(days=10)), LocalContext("retention_audit", timeout_s=30)
    )
    out = capsys.readouterr().out
    assert late["purged_items"] == 1 and late["violations"] == 1
    assert ("RetentionViolations", {"service": "retention_audit"}, [1.0]) in emitted_metrics(out)
    warning = next(json.loads(line) for line in log.getvalue().splitlines() if '"retention violation"' in line)
    assert warning["store"] == TABLE and warning["overdue_hours"] > 48


def test_without_the_local_flag_the_event_time_cannot_move_the_clock(
    aws: dict[str, Any], function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRUST_EVENT_TIME", raising=False)
    processed_image(aws)
    summary = function.handler(
        scheduled_event(datetime.now(UTC) + timedelta(days=30)), LocalContext("retention_audit", timeout_s=30)
    )
    assert summary["purged_items"] == 0 and items(aws) == 1
