"""DELETE /v1/images/{image_id}'s use case against in-process moto (versioned SSE-KMS buckets, DynamoDB): every
version of every object goes, then the item; another tenant learns nothing; a processor racing the delete
never leaves a rendition behind."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.adapters.object_store import ObjectStore
from imgpipe.adapters.s3_client import s3_client
from imgpipe.api_error import ApiError
from imgpipe.auth import Principal
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus
from imgpipe.processing import ImageProcessor, MalwareScan, Outcome, ProcessorSettings
from imgpipe.uploads import DELETE_ATTEMPTS, UploadService
from tests.stores import image_table, versioned_buckets

RAW, PROCESSED, TABLE = "raw-bucket", "processed-bucket", "images"
TEAM_A = Principal("key-a", "Team A", "team-a")
TEAM_B = Principal("key-b", "Team B", "team-b")


@dataclass
class Env:
    s3: Any
    table: MetadataTable
    raw: ObjectStore
    processed: ObjectStore
    now: datetime

    def service(self, table: MetadataTable | None = None) -> UploadService:
        return UploadService(table or self.table, self.raw, processed=self.processed, clock=lambda: self.now)

    def processor(self, table: MetadataTable | None = None) -> ImageProcessor:
        # No GuardDuty here: the processor goes on without a scan tag.
        settings = ProcessorSettings(malware_scan=MalwareScan.OBSERVED)
        return ImageProcessor(table or self.table, self.raw, self.processed, settings, clock=lambda: self.now)

    def upload(self, principal: Principal = TEAM_A) -> ImageItem:
        """A RECEIVED image of the principal's tenant, through the direct upload use case."""
        image_id = self.service().direct_upload(png(), "image/png", "cat.png", principal)["image_id"]
        item = self.table.get(image_id, self.now)
        assert item is not None
        return item

    def versions(self, bucket: str) -> list[str]:
        """Every version and delete marker left in the bucket."""
        listing = self.s3.list_object_versions(Bucket=bucket)
        return [v["Key"] for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])]


@pytest.fixture
def env(offline_aws: None) -> Env:
    s3 = s3_client()  # SigV4 on the regional endpoint: what presigned POSTs need
    kms_key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    versioned_buckets(s3, RAW, PROCESSED)
    image_table(boto3.client("dynamodb"), TABLE)
    return Env(
        s3,
        MetadataTable(boto3.client("dynamodb"), TABLE),
        ObjectStore(s3, RAW, kms_key),
        ObjectStore(s3, PROCESSED, kms_key),
        datetime.now(UTC),
    )


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_processed_image_goes_with_every_version_of_its_objects(env: Env) -> None:
    item = env.upload()
    env.raw.put(item.raw_key, png(), "image/png")  # the key written twice: two versions of the raw object
    assert env.processor().process_object(item.raw_key).outcome is Outcome.PROCESSED
    assert len(env.versions(PROCESSED)) >= 2

    env.service().delete_image(item.image_id, TEAM_A)

    assert env.table.get(item.image_id, env.now) is None
    assert env.versions(RAW) == [] and env.versions(PROCESSED) == []  # no version, no delete marker


def test_an_image_never_uploaded_goes_without_a_delete_marker(env: Env) -> None:
    form, _ = env.service().request_upload({"filename": "a.png", "content_type": "image/png", "size_bytes": 99}, TEAM_A)
    image_id = form["image_id"]

    env.service().delete_image(image_id, TEAM_A)

    assert env.table.get(image_id, env.now) is None and env.versions(RAW) == []


@pytest.mark.parametrize("caller", [TEAM_B, Principal("key-a2", "Team A", "team-a-2")], ids=["other", "prefix"])
def test_another_tenant_gets_the_answer_of_an_unknown_id_and_deletes_nothing(env: Env, caller: Principal) -> None:
    item = env.upload()
    assert env.processor().process_object(item.raw_key).outcome is Outcome.PROCESSED
    before = sorted(env.versions(RAW) + env.versions(PROCESSED))

    with pytest.raises(ApiError) as foreign:
        env.service().delete_image(item.image_id, caller)
    with pytest.raises(ApiError) as unknown:
        env.service().delete_image(new_image_id(), caller)

    assert (foreign.value.status, foreign.value.code, foreign.value.message) == (
        unknown.value.status,
        unknown.value.code,
        unknown.value.message,
    )
    assert foreign.value.status == 404
    assert env.table.get(item.image_id, env.now) is not None
    assert sorted(env.versions(RAW) + env.versions(PROCESSED)) == before


@pytest.mark.parametrize("image_id", ["", "../raw/x", "a" * 2000, "00000000-0000-0000-0000-000000000000\n", "*"])
def test_a_malformed_id_is_a_404_without_a_read(env: Env, image_id: str) -> None:
    with pytest.raises(ApiError) as refused:
        env.service().delete_image(image_id, TEAM_A)
    assert refused.value.status == 404


def test_a_second_delete_is_a_404(env: Env) -> None:
    item = env.upload()
    env.service().delete_image(item.image_id, TEAM_A)
    with pytest.raises(ApiError) as again:
        env.service().delete_image(item.image_id, TEAM_A)
    assert again.value.status == 404


class ProcessedMeanwhile(MetadataTable):
    """The processor finishes the image between the delete's read (RECEIVED: no renditions yet) and its
    conditional delete: the renditions it wrote are unknown to the first purge."""

    def __init__(self, inner: MetadataTable, env: Env) -> None:
        self.__dict__.update(inner.__dict__)
        self.env, self.raced = env, False

    def delete_unchanged(self, item: ImageItem) -> bool:
        if not self.raced:
            self.raced = True
            self.env.raw.put(item.raw_key, png(), "image/png")  # the bytes, as if the purge had not run yet
            assert self.env.processor().process_object(item.raw_key).outcome is Outcome.PROCESSED
        return super().delete_unchanged(item)


def test_renditions_written_during_the_delete_are_purged_by_it(env: Env) -> None:
    item = env.upload()
    racing = ProcessedMeanwhile(env.table, env)

    env.service(table=racing).delete_image(item.image_id, TEAM_A)

    assert racing.raced and env.table.get(item.image_id, env.now) is None
    assert env.versions(RAW) == [] and env.versions(PROCESSED) == []


class DeletedWhileProcessing(MetadataTable):
    """The image's tenant deletes it after the processor wrote its renditions, before the PROCESSED write."""

    def __init__(self, inner: MetadataTable, env: Env) -> None:
        self.__dict__.update(inner.__dict__)
        self.env = env

    def transition(self, image_id: str, to: ImageStatus, now: datetime | None = None, **updates: Any) -> ImageItem:
        if to is ImageStatus.PROCESSED:
            assert self.env.versions(PROCESSED)  # the renditions are written, the item does not list them
            self.env.service().delete_image(image_id, TEAM_A)
        return super().transition(image_id, to, now, **updates)


def test_a_processor_that_loses_its_image_to_a_delete_removes_its_renditions(env: Env) -> None:
    item = env.upload()

    result = env.processor(table=DeletedWhileProcessing(env.table, env)).process_object(item.raw_key)

    assert result.outcome is Outcome.SKIPPED and "deleted" in result.detail
    assert env.table.get(item.image_id, env.now) is None
    assert env.versions(RAW) == [] and env.versions(PROCESSED) == []


class AlwaysChanged(MetadataTable):
    def __init__(self, inner: MetadataTable) -> None:
        self.__dict__.update(inner.__dict__)
        self.attempts = 0

    def delete_unchanged(self, item: ImageItem) -> bool:
        self.attempts += 1
        return False


def test_an_image_that_keeps_changing_is_a_409_after_a_bounded_number_of_attempts(env: Env) -> None:
    item = env.upload()
    changing = AlwaysChanged(env.table)

    with pytest.raises(ApiError) as refused:
        env.service(table=changing).delete_image(item.image_id, TEAM_A)

    assert refused.value.status == 409 and refused.value.code == "conflict"
    assert changing.attempts == DELETE_ATTEMPTS
    assert env.table.get(item.image_id, env.now) is not None  # a retry finds it and finishes
