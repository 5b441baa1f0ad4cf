"""Tenants, through the running local stack over HTTP: two teams share the deployment, each sees only its own
images — get, list (every status, every page), rendition links, cursors, idempotency replays — and another team's
image is indistinguishable from one that does not exist. Two keys of one team see the same images."""

from __future__ import annotations

import io
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.ids import new_image_id
from imgpipe.models import ImageStatus
from scripts.local import stack
from scripts.local import worker as local_worker
from scripts.ops import keys
from tests.integration.conftest import exported_rows
from tests.openapi import assert_response_matches

pytestmark = pytest.mark.integration
WAIT_S = 120


@pytest.fixture(scope="module")
def tenants(deployed: dict[str, Any], local_stack: stack.StackConfig) -> dict[str, str]:
    """A registry of three keys: two of team acme, one of team bolt."""
    admin = keys.admin_for(deployed, local_stack)
    return {name: admin.issue(name, f"{tenant} ({name})", tenant) for name, tenant in
            [("acme-1", "acme"), ("acme-2", "acme"), ("bolt-1", "bolt")]}  # fmt: skip


@pytest.fixture(scope="module")
def url(base_url: str, tenants: dict[str, str]) -> str:
    """The module's local gateway (conftest's base_url), once the tenants' keys exist."""
    return base_url


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (30 + seed, 20), (seed % 255, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def call(url: str, key: str, method: str, path: str, route: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = requests.request(method, f"{url}{path}", headers={"x-api-key": key, **kwargs.pop("headers", {})},
                                timeout=30, **kwargs)  # fmt: skip
    body: dict[str, Any] = response.json()
    assert_response_matches(method, route, response.status_code, body)
    return response.status_code, body


def put(url: str, key: str, data: bytes, **headers: str) -> dict[str, Any]:
    status, body = call(url, key, "PUT", "/v1/images", "/v1/images", data=data,
                        headers={"Content-Type": "image/png", **headers})  # fmt: skip
    assert status == 201, body
    return body


def get(url: str, key: str, image_id: str) -> tuple[int, dict[str, Any]]:
    return call(url, key, "GET", f"/v1/images/{image_id}", "/v1/images/{image_id}")


def listing(url: str, key: str, status: str, **query: str) -> tuple[int, dict[str, Any]]:
    return call(url, key, "GET", "/v1/images", "/v1/images", params={"status": status, **query})


def every_page(url: str, key: str, status: str) -> list[str]:
    ids, cursor = [], None
    for _ in range(500):
        code, page = listing(url, key, status, limit="2", **({"next": cursor} if cursor else {}))
        assert code == 200, page
        ids += [i["image_id"] for i in page["items"]]
        cursor = page["next"]
        if not cursor:
            return ids
    raise AssertionError("the listing never ended")


@pytest.fixture(scope="module")
def stored(
    url: str, tenants: dict[str, str], deployed: dict[str, Any], local_stack: stack.StackConfig
) -> dict[str, list[str]]:
    """Images of both teams, one of acme's processed (so that it has rendition links)."""
    acme = [put(url, tenants["acme-1"], png(i))["image_id"] for i in range(3)]
    code, presigned = call(url, tenants["acme-2"], "POST", "/v1/uploads", "/v1/uploads",
                           json={"filename": "big.png", "content_type": "image/png", "size_bytes": 1000})  # fmt: skip
    assert code == 201
    acme.append(presigned["image_id"])  # PENDING_UPLOAD: its bytes are never sent
    bolt = [put(url, tenants["bolt-1"], png(50 + i))["image_id"] for i in range(2)]
    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed).pollers[0]
    table = MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])
    started = time.monotonic()

    def processed(image_id: str) -> bool:
        item = table.get(image_id)
        return item is not None and item.status is ImageStatus.PROCESSED

    while not (processed(acme[0]) and processed(bolt[0])):
        assert time.monotonic() - started < WAIT_S, worker.stats
        worker.poll_once(wait_s=1)
    return {"acme": acme, "bolt": bolt}


def test_images_carry_their_tenant_in_the_item_and_the_object_keys(
    stored: dict[str, list[str]], url: str, tenants: dict[str, str], deployed: dict[str, Any],
    local_stack: stack.StackConfig,
) -> None:  # fmt: skip
    code, image = get(url, tenants["acme-1"], stored["acme"][0])
    assert code == 200 and image["tenant_id"] == "acme" and image["owner"] == "acme-1"
    assert image["status"] == "PROCESSED"
    assert all(r["key"].startswith("renditions/acme/") for r in image["renditions"].values())
    s3 = stack.aws_client(local_stack, "s3")
    listed = s3.list_objects_v2(Bucket=deployed["raw_bucket_name"], Prefix="raw/bolt/")["Contents"]
    assert any(o["Key"].endswith(stored["bolt"][1]) for o in listed)


def test_another_tenants_image_is_indistinguishable_from_none(
    stored: dict[str, list[str]], url: str, tenants: dict[str, str]
) -> None:
    missing_status, missing = get(url, tenants["bolt-1"], new_image_id())  # well-formed, never stored
    for image_id in stored["acme"]:
        status, body = get(url, tenants["bolt-1"], image_id)
        assert (
            (status, body["error"]["code"], body["error"]["message"])
            == (missing_status, missing["error"]["code"], missing["error"]["message"])
            == (404, "not_found", missing["error"]["message"])
        )
        assert "links" not in body  # no presigned link to another team's renditions
    for image_id in stored["acme"]:  # the other key of the same team sees them all, links included
        assert get(url, tenants["acme-2"], image_id)[0] == 200
    assert "links" in get(url, tenants["acme-2"], stored["acme"][0])[1]


@pytest.mark.parametrize("status", [s.value for s in ImageStatus])
def test_no_listing_of_any_status_on_any_page_shows_another_tenant(
    stored: dict[str, list[str]], url: str, tenants: dict[str, str], status: str
) -> None:
    bolt_sees = every_page(url, tenants["bolt-1"], status)
    acme_sees = every_page(url, tenants["acme-2"], status)
    assert not set(bolt_sees) & set(stored["acme"]) and not set(acme_sees) & set(stored["bolt"])
    if status == "PENDING_UPLOAD":
        assert stored["acme"][3] in acme_sees
    if status == "PROCESSED":
        assert stored["acme"][0] in acme_sees and stored["bolt"][0] in bolt_sees


def test_cursors_are_bound_to_their_tenant_and_listing(
    stored: dict[str, list[str]], url: str, tenants: dict[str, str]
) -> None:
    for i in range(2):  # RECEIVED for the length of this test: nothing polls the queue meanwhile
        put(url, tenants["acme-1"], png(100 + i))
    code, page = listing(url, tenants["acme-1"], "RECEIVED", limit="1")
    assert code == 200 and page["next"]
    cursor = page["next"]
    assert listing(url, tenants["acme-2"], "RECEIVED", limit="1", next=cursor)[0] == 200  # same tenant, other key
    for key, status, extra in [
        ("bolt-1", "RECEIVED", {}),  # another tenant
        ("acme-1", "PROCESSED", {}),  # another status (was a 500 before tenants)
        ("acme-1", "RECEIVED", {"since": "2020-01-01T00:00:00Z"}),  # another since
    ]:
        code, body = listing(url, tenants[key], status, limit="1", next=cursor, **extra)
        assert (code, body["error"]["code"]) == (400, "invalid_cursor"), (key, status, body)
    body_part, mac = cursor.split(".")
    for tampered in [f"{body_part}x.{mac}", f"{body_part}.{mac[:-2]}AA", "e30.AAAA", "nope", cursor + "." + mac]:
        code, body = listing(url, tenants["acme-1"], "RECEIVED", limit="1", next=tampered)
        assert (code, body["error"]["code"]) == (400, "invalid_cursor"), tampered


def test_idempotency_keys_are_per_tenant(url: str, tenants: dict[str, str]) -> None:
    data, key = png(200), {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = put(url, tenants["acme-1"], data, **key)
    same_team = requests.put(f"{url}/v1/images", data=data, timeout=30,
                             headers={"x-api-key": tenants["acme-2"], "Content-Type": "image/png", **key})  # fmt: skip
    assert same_team.status_code == 201 and same_team.headers.get("Idempotent-Replayed") == "true"
    assert same_team.json()["image_id"] == first["image_id"]
    other_team = put(url, tenants["bolt-1"], data, **key)
    assert other_team["image_id"] != first["image_id"] and other_team["tenant_id"] == "bolt"


def test_since_takes_any_rfc_3339_offset_and_refuses_the_rest(
    stored: dict[str, list[str]], url: str, tenants: dict[str, str]
) -> None:
    _, newest = get(url, tenants["bolt-1"], stored["bolt"][1])
    created = datetime.fromisoformat(newest["created_at"].replace("Z", "+00:00"))
    # The same instant written at +01:00 selects it (a text comparison would not); a millisecond later at -05:00
    # does not.
    same_instant = created.astimezone(timezone(timedelta(hours=1)))
    code, page = listing(url, tenants["bolt-1"], newest["status"], since=same_instant.isoformat())
    assert code == 200 and stored["bolt"][1] in [i["image_id"] for i in page["items"]], page
    later = (created + timedelta(milliseconds=1)).astimezone(timezone(timedelta(hours=-5)))
    code, page = listing(url, tenants["bolt-1"], newest["status"], since=later.isoformat())
    assert stored["bolt"][1] not in [i["image_id"] for i in page["items"]]
    for bad in ["yesterday", "2026-12-02", "2026-12-02T08:00:00"]:
        code, body = listing(url, tenants["bolt-1"], "RECEIVED", since=bad)
        assert (code, body["error"]["code"]) == (400, "invalid_request")
    code, body = listing(url, tenants["bolt-1"], "RECEIVED", limit="abc")
    assert code == 400 and "invalid literal" not in body["error"]["message"]


def test_a_tenant_deletes_its_image_for_good_through_the_api_and_another_tenant_cannot(
    url: str, tenants: dict[str, str], deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    """DELETE /v1/images/{image_id} on the deployed route: bolt's attempt answers as an unknown id and changes
    nothing; acme's other key deletes it; every version of its objects and its item are gone, and the export
    records a tombstone for it."""
    image_id = put(url, tenants["acme-1"], png(77))["image_id"]
    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed)
    processor = next(p for p in worker.pollers if p.mapping.function_name == deployed["processor_function_name"])
    [stream] = worker.stream_pollers
    table = MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])
    started = time.monotonic()
    while (item := table.get(image_id)) is None or item.status is not ImageStatus.PROCESSED:
        assert time.monotonic() - started < WAIT_S, processor.stats
        processor.poll_once(wait_s=1)
    objects = [(deployed["raw_bucket_name"], item.raw_key)] + [
        (deployed["processed_bucket_name"], r.key) for r in item.renditions.values()
    ]
    s3 = stack.aws_client(local_stack, "s3")

    def versions() -> int:
        found = 0
        for bucket, key in objects:
            listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
            found += len(listing.get("Versions", [])) + len(listing.get("DeleteMarkers", []))
        return found

    def delete(key: str, target: str) -> requests.Response:
        return requests.delete(f"{url}/v1/images/{target}", headers={"x-api-key": key}, timeout=30)

    assert versions() == 5  # the raw object and four renditions
    foreign, unknown = delete(tenants["bolt-1"], image_id), delete(tenants["bolt-1"], new_image_id())
    for refused in (foreign, unknown):
        assert_response_matches("DELETE", "/v1/images/{image_id}", refused.status_code, refused.json())
    assert (foreign.status_code, foreign.json()["error"]["message"]) == (404, unknown.json()["error"]["message"])
    assert get(url, tenants["acme-1"], image_id)[0] == 200 and versions() == 5

    deleted = delete(tenants["acme-2"], image_id)
    assert deleted.status_code == 204 and deleted.content == b""
    assert get(url, tenants["acme-1"], image_id)[0] == 404
    assert table.get(image_id) is None and versions() == 0  # no version and no delete marker left
    assert delete(tenants["acme-1"], image_id).status_code == 404

    bucket, prefix = deployed["analytics"]["bucket_name"], deployed["analytics"]["export_prefix"]
    started = time.monotonic()
    while not [
        r for r in exported_rows(local_stack, bucket, prefix) if r["image_id"] == image_id and r["event"] == "delete"
    ]:
        assert time.monotonic() - started < WAIT_S, stream.stats
        stream.poll_once()
