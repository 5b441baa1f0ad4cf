"""The processing use case against in-process moto (S3 versioned + SSE-KMS, DynamoDB, KMS): every outcome,
at-least-once delivery, a crash between writes, hostile inputs leaving nothing behind."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.adapters.object_store import ObjectStore
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, Source
from imgpipe.processing import (
    ORPHAN_GRACE,
    SCAN_STATUS_TAG,
    ImageProcessor,
    ItemNotWrittenYet,
    MalwareScan,
    Outcome,
    ProcessorSettings,
    ScanPending,
    rendition_key,
    retry_after,
)
from imgpipe.renditions import DEFAULT_RENDITIONS
from imgpipe.validation import Limits, Reason
from tests.imaging import photo_with_exif
from tests.stores import image_table, versioned_buckets

RAW, PROCESSED, TABLE = "raw-bucket", "processed-bucket", "images"


@dataclass
class Env:
    s3: Any
    table: MetadataTable
    raw: ObjectStore
    processed: ObjectStore
    kms_key: str
    now: datetime

    def processor(self, table: MetadataTable | None = None, **settings: Any) -> ImageProcessor:
        return ImageProcessor(
            table or self.table, self.raw, self.processed, ProcessorSettings(**settings), clock=lambda: self.now
        )

    def item(
        self,
        data: bytes | None,
        status: ImageStatus = ImageStatus.RECEIVED,
        scan: str | None = "NO_THREATS_FOUND",
        **fields: Any,
    ) -> ImageItem:
        """An item and its raw object, tagged with `scan` as GuardDuty Malware Protection would (None: not yet)."""
        image_id = new_image_id()
        item = ImageItem.new(image_id, Source.API, status, f"raw/{image_id}", created=self.now, **fields)
        self.table.put_new(item)
        if data is not None:
            self.raw.put(item.raw_key, data, "application/octet-stream")
            if scan is not None:
                self.s3.put_object_tagging(
                    Bucket=RAW, Key=item.raw_key, Tagging={"TagSet": [{"Key": SCAN_STATUS_TAG, "Value": scan}]}
                )
        return item

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]

    def versions(self, bucket: str, key: str) -> int:
        listing = self.s3.list_object_versions(Bucket=bucket, Prefix=key)
        return len(listing.get("Versions", [])) + len(listing.get("DeleteMarkers", []))


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3")
        kms_key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
        versioned_buckets(s3, RAW, PROCESSED)
        dynamodb = boto3.client("dynamodb")
        image_table(dynamodb, TABLE)
        yield Env(
            s3,
            MetadataTable(dynamodb, TABLE),
            ObjectStore(s3, RAW, kms_key),
            ObjectStore(s3, PROCESSED, kms_key),
            kms_key,
            datetime.now(UTC),
        )


def jpeg(size: tuple[int, int] = (1600, 1200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_received_image_is_processed_into_every_rendition(env: Env) -> None:
    data = jpeg()
    item = env.item(data, size_bytes=len(data), declared_type="image/jpeg")

    result = env.processor().process_object(item.raw_key)

    assert result.outcome is Outcome.PROCESSED
    stored = env.table.get(item.image_id, env.now)
    assert stored is not None and stored.status is ImageStatus.PROCESSED
    assert (stored.width, stored.height, stored.format, stored.mode) == (1600, 1200, "jpeg", "RGB")
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size_bytes == len(data)
    assert stored.phash and stored.dominant_color and stored.processed_at
    assert set(stored.processing_ms) == {"validate", "decode", "prepare", "analyse"} | {
        f"rendition:{s.name}" for s in DEFAULT_RENDITIONS
    }
    expected = {spec.name: rendition_key("renditions/", item.image_id, spec) for spec in DEFAULT_RENDITIONS}
    assert {name: r.key for name, r in stored.renditions.items()} == expected
    assert sorted(env.keys(PROCESSED)) == sorted(expected.values())
    for spec in DEFAULT_RENDITIONS:
        record = stored.renditions[spec.name]
        head = env.s3.head_object(Bucket=PROCESSED, Key=record.key)
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == env.kms_key
        assert head["ContentType"] == spec.format.mime_type
        body = env.s3.get_object(Bucket=PROCESSED, Key=record.key)["Body"].read()
        with Image.open(io.BytesIO(body)) as out:
            assert str(out.format).lower() == spec.format.value and max(out.size) == spec.max_edge
            assert out.size == (record.width, record.height) and len(body) == record.size_bytes


def test_presigned_upload_is_filled_in_from_its_bytes(env: Env) -> None:
    data = photo_with_exif(orientation=6)
    item = env.item(data, ImageStatus.PENDING_UPLOAD, size_bytes=len(data), declared_type="image/jpeg")

    assert env.processor().process_object(item.raw_key).outcome is Outcome.PROCESSED

    stored = env.table.get(item.image_id, env.now)
    assert stored is not None and stored.status is ImageStatus.PROCESSED
    assert stored.camera.get("orientation") == 6 and "gps" not in str(stored.camera).lower()


def test_a_redelivered_message_changes_nothing(env: Env) -> None:
    data = jpeg()
    item = env.item(data)
    processor = env.processor()
    processor.process_object(item.raw_key)
    first = env.table.get(item.image_id, env.now)

    env.now += timedelta(seconds=30)
    again = processor.process_object(item.raw_key)

    assert again.outcome is Outcome.SKIPPED and again.detail == "already processed"
    assert env.table.get(item.image_id, env.now) == first
    assert all(env.versions(PROCESSED, key) == 1 for key in env.keys(PROCESSED))


class CrashOnce(MetadataTable):
    """Dies like a Lambda timeout right after the renditions were written, before the PROCESSED write."""

    def __init__(self, inner: MetadataTable) -> None:
        self.__dict__.update(inner.__dict__)
        self.crashed = False

    def transition(self, image_id: str, to: ImageStatus, now: datetime | None = None, **updates: Any) -> ImageItem:
        if to is ImageStatus.PROCESSED and not self.crashed:
            self.crashed = True
            raise ConnectionError("simulated crash between the rendition writes and the status write")
        return super().transition(image_id, to, now, **updates)


def test_a_crash_between_writes_is_retried_to_one_consistent_result(env: Env) -> None:
    item = env.item(jpeg())
    crashing = CrashOnce(env.table)

    with pytest.raises(ConnectionError):
        env.processor(table=crashing).process_object(item.raw_key)
    half_done = env.table.get(item.image_id, env.now)
    assert half_done is not None and half_done.status is ImageStatus.PROCESSING and not half_done.renditions
    keys_after_crash = sorted(env.keys(PROCESSED))

    retried = env.processor(table=crashing).process_object(item.raw_key)

    assert retried.outcome is Outcome.PROCESSED
    stored = env.table.get(item.image_id, env.now)
    assert stored is not None and stored.status is ImageStatus.PROCESSED
    assert sorted(env.keys(PROCESSED)) == keys_after_crash == sorted(r.key for r in stored.renditions.values())


@pytest.mark.parametrize(
    ("make", "declared", "reason"),
    [
        (lambda: jpeg()[:600], "image/jpeg", "truncated"),
        (lambda: b"<?php system($_GET['c']); ?>" * 20, "image/png", "unknown_format"),
        (lambda: jpeg() + b"<script>alert(1)</script>", "image/jpeg", "polyglot"),
        (lambda: jpeg(), "image/png", "type_mismatch"),
    ],
    ids=["truncated", "php", "polyglot", "declared-png-got-jpeg"],
)
def test_hostile_images_are_rejected_leaving_no_bytes(env: Env, make: Any, declared: str, reason: str) -> None:
    data = make()
    item = env.item(data, ImageStatus.PENDING_UPLOAD, size_bytes=len(data), declared_type=declared)

    result = env.processor().process_object(item.raw_key)

    assert result.outcome is Outcome.REJECTED and result.reason == reason
    stored = env.table.get(item.image_id, env.now)
    assert stored is not None and stored.status is ImageStatus.REJECTED and stored.reject_reason == reason
    assert env.keys(PROCESSED) == [] and env.versions(RAW, item.raw_key) == 0


def test_decompression_bomb_is_rejected_before_decoding(env: Env) -> None:
    buffer = io.BytesIO()
    Image.new("L", (6000, 6000)).save(buffer, format="PNG")
    item = env.item(buffer.getvalue())

    result = env.processor(limits=Limits(max_pixels=20_000_000)).process_object(item.raw_key)

    assert result.outcome is Outcome.REJECTED and result.reason == "too_many_pixels"


def test_bytes_that_differ_from_the_declaration_are_rejected(env: Env) -> None:
    data = jpeg()
    wrong_size = env.item(data, ImageStatus.PENDING_UPLOAD, size_bytes=len(data) + 1)
    wrong_hash = env.item(data, ImageStatus.PENDING_UPLOAD, sha256="0" * 64)
    processor = env.processor()

    assert processor.process_object(wrong_size.raw_key).reason == "size_mismatch"
    assert processor.process_object(wrong_hash.raw_key).reason == "checksum_mismatch"
    assert env.keys(RAW) == []


def test_an_object_over_the_limit_is_rejected_without_being_read(env: Env) -> None:
    item = env.item(b"\xff\xd8" + b"\0" * 5000)
    result = env.processor(limits=Limits(max_bytes=4096)).process_object(item.raw_key)
    assert result.outcome is Outcome.REJECTED and result.reason == "too_large"


def test_a_rejected_item_redelivered_deletes_its_object_again(env: Env) -> None:
    """A crash after the REJECTED write but before the delete: the retry finishes the purge."""
    item = env.item(jpeg(), ImageStatus.RECEIVED)
    env.table.transition(item.image_id, ImageStatus.REJECTED, env.now, reject_reason="corrupt")

    result = env.processor().process_object(item.raw_key)

    assert result.outcome is Outcome.SKIPPED and env.versions(RAW, item.raw_key) == 0


def test_an_old_object_without_item_is_purged_and_a_fresh_one_retried(env: Env) -> None:
    orphan = f"raw/{new_image_id()}"
    env.raw.put(orphan, jpeg(), "image/jpeg")

    with pytest.raises(ItemNotWrittenYet) as fresh:
        env.processor().process_object(orphan)  # a direct upload writes its item right after the object
    assert env.versions(RAW, orphan) == 1 and fresh.value.retry_after == timedelta(seconds=5)
    env.now += timedelta(seconds=30)
    with pytest.raises(ItemNotWrittenYet) as late:
        env.processor().process_object(orphan)
    # until the grace is over (S3 keeps the object's time to the second, hence the range)
    assert timedelta(seconds=90) <= late.value.retry_after <= timedelta(seconds=92)

    env.now += timedelta(minutes=3)
    result = env.processor().process_object(orphan)
    assert result.outcome is Outcome.SKIPPED and env.versions(RAW, orphan) == 0


def test_an_expired_item_counts_as_no_item(env: Env) -> None:
    item = env.item(jpeg())
    env.now += timedelta(days=8)
    result = env.processor().process_object(item.raw_key)
    assert result.outcome is Outcome.SKIPPED and env.versions(RAW, item.raw_key) == 0
    assert env.keys(PROCESSED) == []


@pytest.mark.parametrize("key", ["elsewhere/0190a1b2-0000-7000-8000-000000000000", "raw/not-an-id", "raw/"])
def test_keys_that_are_not_raw_images_are_skipped(env: Env, key: str) -> None:
    assert env.processor().process_object(key).outcome is Outcome.SKIPPED


def test_a_storage_failure_raises_and_leaves_a_retryable_item(env: Env) -> None:
    item = env.item(jpeg())
    broken = ImageProcessor(
        env.table, env.raw, ObjectStore(env.s3, "no-such-bucket", env.kms_key), clock=lambda: env.now
    )

    with pytest.raises(Exception, match="NoSuchBucket"):
        broken.process_object(item.raw_key)

    stored = env.table.get(item.image_id, env.now)
    assert stored is not None and stored.status is ImageStatus.PROCESSING  # a retry may resume it
    assert env.versions(RAW, item.raw_key) == 1


# ------------------------------------------------------------------------------------------- malware scan tags


@pytest.mark.parametrize("mode", list(MalwareScan))
def test_an_object_guardduty_tagged_as_a_threat_is_refused_and_deleted_in_every_mode(
    env: Env, mode: MalwareScan
) -> None:
    item = env.item(jpeg(), scan="THREATS_FOUND")

    result = env.processor(malware_scan=mode).process_object(item.raw_key)

    assert result.outcome is Outcome.REJECTED and result.reason is Reason.MALWARE
    stored = env.table.get(item.image_id, env.now)
    assert stored is not None and stored.status is ImageStatus.REJECTED and stored.reject_reason == "malware"
    assert env.versions(RAW, item.raw_key) == 0 and env.keys(PROCESSED) == []


def test_with_a_scan_required_an_untagged_object_waits_for_its_verdict_untouched(env: Env) -> None:
    item = env.item(jpeg(), scan=None)

    with pytest.raises(ScanPending, match="GuardDutyMalwareScanStatus"):
        env.processor(malware_scan=MalwareScan.REQUIRED).process_object(item.raw_key)

    stored = env.table.get(item.image_id, env.now)
    assert stored is not None and stored.status is ImageStatus.RECEIVED  # nothing written: the retry starts clean
    assert env.versions(RAW, item.raw_key) == 1 and env.keys(PROCESSED) == []
    env.s3.put_object_tagging(
        Bucket=RAW, Key=item.raw_key, Tagging={"TagSet": [{"Key": SCAN_STATUS_TAG, "Value": "NO_THREATS_FOUND"}]}
    )
    assert env.processor(malware_scan=MalwareScan.REQUIRED).process_object(item.raw_key).outcome is Outcome.PROCESSED


@pytest.mark.parametrize("status", ["UNSUPPORTED", "ACCESS_DENIED", "FAILED"])
def test_with_a_scan_required_an_object_guardduty_could_not_scan_is_refused(env: Env, status: str) -> None:
    item = env.item(jpeg(), scan=status)

    result = env.processor(malware_scan=MalwareScan.REQUIRED).process_object(item.raw_key)

    assert result.outcome is Outcome.REJECTED and result.reason is Reason.NOT_SCANNED and status in result.detail
    assert env.versions(RAW, item.raw_key) == 0


def test_without_a_scan_set_up_an_untagged_object_is_processed(env: Env) -> None:
    item = env.item(jpeg(), scan=None)
    assert env.processor(malware_scan=MalwareScan.OBSERVED).process_object(item.raw_key).outcome is Outcome.PROCESSED


def test_the_scan_is_required_unless_said_otherwise() -> None:
    assert ProcessorSettings().malware_scan is MalwareScan.REQUIRED


@pytest.mark.parametrize("item_written_after_s", [0.05, 3, 7, None])
def test_the_retries_of_a_fresh_object_end_processed_or_deleted_within_five_receives(
    item_written_after_s: float | None,
) -> None:
    """The queue dead-letters a message on its fifth failed receive: each upload whose item comes is processed,
    and an orphan is deleted after its grace, before that, whatever the timing."""
    age, receives = timedelta(0), 0
    while True:
        receives += 1
        if item_written_after_s is not None and age.total_seconds() >= item_written_after_s:
            outcome = "processed"
            break
        if age >= ORPHAN_GRACE:
            outcome = "deleted"
            break
        age += retry_after(age)
    assert receives <= 4  # the fifth would be the last before the DLQ: never needed
    assert outcome == ("deleted" if item_written_after_s is None else "processed")
    if item_written_after_s is not None and item_written_after_s < 10:
        assert age <= timedelta(seconds=10)  # a slow upload waits seconds, not the grace
