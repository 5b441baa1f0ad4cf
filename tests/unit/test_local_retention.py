"""Local time travel: S3 lifecycle and DynamoDB TTL as AWS applies them, read back from the emulator (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from scripts.local.time_travel import SweepReport, midnight_after, parse_as_of, sweep_bucket, sweep_tables

NOW = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)


def test_as_of_is_relative_or_absolute() -> None:
    assert parse_as_of("+8d", NOW) == NOW + timedelta(days=8)
    assert parse_as_of("+6d23h", NOW) == NOW + timedelta(days=6, hours=23)
    assert parse_as_of("+90m", NOW) == NOW + timedelta(minutes=90)
    assert parse_as_of("2026-12-09T00:00:00Z", NOW) == datetime(2026, 12, 9, tzinfo=UTC)
    for bad in ("8d", "+", "tomorrow", "2026-12-09T00:00:00"):
        with pytest.raises(ValueError, match="--as-of"):
            parse_as_of(bad, NOW)


def test_lifecycle_actions_take_effect_at_the_next_midnight_utc() -> None:
    assert midnight_after(datetime(2026, 12, 8, 10, 30, tzinfo=UTC)) == datetime(2026, 12, 9, tzinfo=UTC)
    assert midnight_after(datetime(2026, 12, 9, tzinfo=UTC)) == datetime(2026, 12, 9, tzinfo=UTC)


@pytest.fixture
def aws(offline_aws: None) -> dict[str, Any]:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="images")
    s3.put_bucket_versioning(Bucket="images", VersioningConfiguration={"Status": "Enabled"})
    # The storage module's rules, as Terraform writes them.
    s3.put_bucket_lifecycle_configuration(
        Bucket="images",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-after-retention",
                    "Status": "Enabled",
                    "Filter": {},
                    "Expiration": {"Days": 7},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                },
                {
                    "ID": "remove-expired-delete-markers",
                    "Status": "Enabled",
                    "Filter": {},
                    "Expiration": {"ExpiredObjectDeleteMarker": True},
                },
            ]
        },
    )
    s3.create_bucket(Bucket="no-rules")
    return {"s3": s3, "dynamodb": boto3.client("dynamodb")}


def entries(s3: Any, bucket: str = "images") -> list[tuple[str, bool]]:
    listed = s3.list_object_versions(Bucket=bucket)
    return sorted(
        [(v["Key"], False) for v in listed.get("Versions", [])]
        + [(m["Key"], True) for m in listed.get("DeleteMarkers", [])]
    )


def swept(s3: Any, as_of: datetime) -> SweepReport:
    report = SweepReport()
    sweep_bucket(s3, "images", as_of, report)
    sweep_bucket(s3, "no-rules", as_of, report)
    return report


def test_a_versioned_object_goes_as_s3_lifecycle_would_take_it(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    s3.put_object(Bucket="images", Key="raw/a", Body=b"a")
    s3.put_object(Bucket="no-rules", Key="raw/a", Body=b"a")
    written = s3.head_object(Bucket="images", Key="raw/a")["LastModified"]
    expiry = midnight_after(written + timedelta(days=7))

    assert swept(s3, written + timedelta(days=6, hours=23)).expired_current == 0
    assert entries(s3) == [("raw/a", False)]

    report = swept(s3, expiry)  # the current version expires: a delete marker on top, bytes kept as noncurrent
    assert (report.expired_current, report.removed_noncurrent) == (1, 0)
    assert entries(s3) == [("raw/a", False), ("raw/a", True)]

    report = swept(s3, midnight_after(expiry + timedelta(days=1)))  # noncurrent for a day: gone, marker too
    assert report.removed_noncurrent == 1 and report.removed_delete_markers == 1
    assert entries(s3) == []
    assert entries(s3, "no-rules") == [("raw/a", False)]  # no lifecycle, no expiry


def test_an_overwritten_object_loses_its_old_version_a_day_after_the_overwrite(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    for body in (b"v1", b"v2"):
        s3.put_object(Bucket="images", Key="raw/b", Body=body)
    written = s3.head_object(Bucket="images", Key="raw/b")["LastModified"]
    report = swept(s3, midnight_after(written + timedelta(days=1)))
    assert (report.removed_noncurrent, report.expired_current) == (1, 0)
    assert s3.get_object(Bucket="images", Key="raw/b")["Body"].read() == b"v2"


def test_incomplete_multipart_uploads_are_aborted_after_a_day(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    s3.create_multipart_upload(Bucket="images", Key="raw/big")
    # moto reports every upload as initiated in 2010, so "not before a day" cannot be shown against it; the
    # sweep uses the reported time, as S3 does.
    started = datetime.now(UTC)
    assert swept(s3, midnight_after(started + timedelta(days=1)) + timedelta(minutes=1)).aborted_uploads == 1
    assert s3.list_multipart_uploads(Bucket="images").get("Uploads", []) == []


def test_ttl_deletes_items_whose_attribute_has_passed_in_tables_that_enable_it(aws: dict[str, Any]) -> None:
    dynamodb = aws["dynamodb"]
    for table in ("images", "no-ttl"):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    dynamodb.update_time_to_live(TableName="images", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    expires = int((NOW + timedelta(days=7)).timestamp())
    for table in ("images", "no-ttl"):
        dynamodb.put_item(TableName=table, Item={"id": {"S": "x"}, "exp": {"N": str(expires)}})
        dynamodb.put_item(TableName=table, Item={"id": {"S": "no-attribute"}})

    report = SweepReport()
    sweep_tables(dynamodb, NOW + timedelta(days=6, hours=23), report)
    assert report.ttl_deleted == 0
    sweep_tables(dynamodb, NOW + timedelta(days=7), report)
    assert report.ttl_deleted == 1 and report.by_store == {"images": 1}
    assert [i["id"]["S"] for i in dynamodb.scan(TableName="images")["Items"]] == ["no-attribute"]
    assert dynamodb.scan(TableName="no-ttl")["Count"] == 2
