"""POST /v1/uploads with an Idempotency-Key (UploadService.request_upload), against in-process moto: every repeat
stands for one image — the same id and object key, a freshly signed form, counted once — until its bytes arrive;
then a repeat is refused rather than handed a form that could replace them."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from PIL import Image

from imgpipe.adapters.metadata_table import ItemExists, MetadataTable
from imgpipe.adapters.object_store import ObjectStore
from imgpipe.adapters.quota_ledger import QuotaLedger
from imgpipe.adapters.request_claims import RequestClaims
from imgpipe.adapters.s3_client import s3_client
from imgpipe.api_error import ApiError
from imgpipe.auth import Principal
from imgpipe.models import ImageStatus
from imgpipe.processing import ImageProcessor, MalwareScan, Outcome, ProcessorSettings
from imgpipe.quotas import Limits, QuotaExceeded, QuotaPolicy
from imgpipe.uploads import UploadService
from tests.stores import image_table, versioned_buckets

RAW, PROCESSED, TABLE, STATE = "raw-bucket", "processed-bucket", "images", "state"
TEAM_A = Principal("key-a", "Team A", "team-a")
TEAM_A_USER = Principal("alice-sub", "alice", "team-a", "cognito_user")
TEAM_B = Principal("key-b", "Team B", "team-b")
BODY = {"filename": "cat.png", "content_type": "image/png", "size_bytes": 300}
# Two uploads a day for team-a: a repeat that were counted again would be refused by the third call.
POLICY = QuotaPolicy(
    Limits(uploads_per_day=100, bytes_per_day=10**9, requests_per_minute=1000),
    {"team-a": Limits(uploads_per_day=2, bytes_per_day=10**9, requests_per_minute=1000)},
)


class Stores:
    def __init__(self) -> None:
        self.s3 = s3_client()
        self.dynamodb = boto3.client("dynamodb")
        kms_key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
        versioned_buckets(self.s3, RAW, PROCESSED)
        image_table(self.dynamodb, TABLE)
        self.dynamodb.create_table(
            TableName=STATE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.table = MetadataTable(self.dynamodb, TABLE)
        self.raw = ObjectStore(self.s3, RAW, kms_key)
        self.processed = ObjectStore(self.s3, PROCESSED, kms_key)
        # Quotas count per UTC day: started at 23:55, a test that moves the clock ten minutes would land in a
        # fresh day and see its counts reset. Today's noon keeps every step of a test in one day.
        self.now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)

    def service(self, table: MetadataTable | None = None) -> UploadService:
        return UploadService(
            table or self.table,
            self.raw,
            processed=self.processed,
            clock=lambda: self.now,
            quotas=QuotaLedger(self.dynamodb, STATE, POLICY),
            claims=RequestClaims(self.dynamodb, STATE, scope="api", lifetime=timedelta(hours=1)),
        )

    def items(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=TABLE)["Items"])


@pytest.fixture
def stores(offline_aws: None) -> Stores:
    return Stores()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def refusal(call: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


def test_a_repeat_stands_for_the_same_image_with_a_fresh_form_and_is_counted_once(stores: Stores) -> None:
    first, first_replayed = stores.service().request_upload(BODY, TEAM_A, "key-1")
    stores.now += timedelta(minutes=10)  # the first form has expired by now; the key has not
    again, again_replayed = stores.service().request_upload(dict(BODY), TEAM_A, "key-1")

    assert (first_replayed, again_replayed) == (False, True)
    assert again["image_id"] == first["image_id"] and again["status"] == "PENDING_UPLOAD"
    assert again["upload"]["fields"]["key"] == first["upload"]["fields"]["key"]
    policy = json.loads(base64.b64decode(again["upload"]["fields"]["policy"]))
    expiry = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert expiry > datetime.now(UTC)  # a form signed for this answer, usable now
    assert len(stores.items()) == 1
    # Counted once: team-a may take two forms a day, and a second key still gets its form.
    stores.service().request_upload(BODY, TEAM_A, "key-2")
    with pytest.raises(QuotaExceeded):
        stores.service().request_upload(BODY, TEAM_A, "key-3")


def test_the_quota_still_refuses_a_third_new_upload(stores: Stores) -> None:
    for key in ("k1", "k2"):
        stores.service().request_upload(BODY, TEAM_A, key)
    with pytest.raises(QuotaExceeded):
        stores.service().request_upload(BODY, TEAM_A, "k3")
    assert len(stores.items()) == 2  # the refused one wrote nothing
    stores.service().request_upload(BODY, TEAM_A, "k1")  # a repeat is not a new upload: still answered


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(stores: Stores) -> None:
    stores.service().request_upload(BODY, TEAM_A, "key-1")
    error = refusal(stores.service().request_upload, {**BODY, "size_bytes": 301}, TEAM_A, "key-1")
    assert (error.status, error.code) == (422, "idempotency_key_reused")
    assert len(stores.items()) == 1


def test_once_the_bytes_arrived_a_repeat_is_refused_and_names_the_image(stores: Stores) -> None:
    data = png()
    form, _ = stores.service().request_upload({**BODY, "size_bytes": len(data)}, TEAM_A, "key-1")
    key = form["upload"]["fields"]["key"]
    stores.raw.put(key, data, "image/png")  # what the browser's POST does
    processor = ImageProcessor(
        stores.table,
        stores.raw,
        stores.processed,
        ProcessorSettings(malware_scan=MalwareScan.OBSERVED),
        clock=lambda: stores.now,
    )
    assert processor.process_object(key).outcome is Outcome.PROCESSED

    error = refusal(stores.service().request_upload, {**BODY, "size_bytes": len(data)}, TEAM_A, "key-1")

    assert (error.status, error.code) == (409, "already_uploaded") and form["image_id"] in error.message
    versions = stores.s3.list_object_versions(Bucket=RAW, Prefix=key).get("Versions", [])
    assert len(versions) == 1  # no form was handed out that could write a second one


def test_keys_belong_to_a_tenant_and_a_key_less_request_is_always_new(stores: Stores) -> None:
    ours, _ = stores.service().request_upload(BODY, TEAM_A, "shared-key")
    same_tenant, replayed = stores.service().request_upload(BODY, TEAM_A_USER, "shared-key")
    theirs, theirs_replayed = stores.service().request_upload(BODY, TEAM_B, "shared-key")
    assert same_tenant["image_id"] == ours["image_id"] and replayed  # a team's user and key share keys
    assert theirs["image_id"] != ours["image_id"] and not theirs_replayed
    assert "/team-b/" in theirs["upload"]["fields"]["key"]

    one, _ = stores.service().request_upload(BODY, TEAM_B)
    two, _ = stores.service().request_upload(BODY, TEAM_B)
    assert one["image_id"] != two["image_id"] and len(stores.items()) == 4


class FailsOnce(MetadataTable):
    """The metadata table of a function that dies (a timeout, say) at its first item write."""

    def __init__(self, inner: MetadataTable) -> None:
        self.__dict__.update(inner.__dict__)
        self.failed = False

    def put_new(self, item: Any) -> None:
        if not self.failed:
            self.failed = True
            raise TimeoutError("the invocation ran out of time")
        super().put_new(item)


def test_a_retry_after_a_death_before_the_item_finishes_the_claimed_image(stores: Stores) -> None:
    dying = FailsOnce(stores.table)
    with pytest.raises(TimeoutError):
        stores.service(dying).request_upload(BODY, TEAM_A, "key-1")
    assert stores.items() == []  # nothing half-written

    form, replayed = stores.service(dying).request_upload(BODY, TEAM_A, "key-1")

    assert not replayed and len(stores.items()) == 1
    item = stores.table.get(form["image_id"], stores.now)
    assert (
        item is not None
        and item.status is ImageStatus.PENDING_UPLOAD
        and item.raw_key == form["upload"]["fields"]["key"]
    )


class WrittenMeanwhile(MetadataTable):
    """A concurrent attempt with the same key writes the item between this one's claim and its write."""

    def __init__(self, inner: MetadataTable) -> None:
        self.__dict__.update(inner.__dict__)

    def put_new(self, item: Any) -> None:
        super().put_new(item)
        raise ItemExists(item.image_id)


def test_two_attempts_racing_with_one_key_answer_one_image(stores: Stores) -> None:
    form, replayed = stores.service(WrittenMeanwhile(stores.table)).request_upload(BODY, TEAM_A, "key-1")
    assert replayed and len(stores.items()) == 1
    assert stores.table.get(form["image_id"], stores.now) is not None
    for key in ("other-1", "other-2"):  # the losing attempt counted nothing: room for two more
        stores.service().request_upload(BODY, TEAM_A, key)
