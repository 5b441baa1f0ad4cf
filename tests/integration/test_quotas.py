"""Per-tenant quotas through the running local stack over HTTP (envs/local gives two probe tenants tiny limits),
and the counters' atomicity under real concurrency against the emulator's DynamoDB."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from PIL import Image

from scripts.local import stack
from scripts.ops import keys
from tests.openapi import assert_response_matches

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def url(base_url: str) -> str:
    """The module's local gateway (conftest's base_url)."""
    return base_url


@pytest.fixture(scope="module")
def probe_keys(deployed: dict[str, Any], local_stack: stack.StackConfig) -> dict[str, str]:
    admin, suffix = keys.admin_for(deployed, local_stack), str(int(time.time()))
    return {tenant: admin.issue(f"{tenant}-{suffix}", "quota test", tenant) for tenant in ("quota-probe", "rate-probe")}


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16 + seed), (seed * 20 % 255, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def put(url: str, key: str, data: bytes) -> requests.Response:
    response = requests.put(f"{url}/v1/images", data=data, timeout=30,
                            headers={"x-api-key": key, "Content-Type": "image/png"})  # fmt: skip
    assert_response_matches("PUT", "/v1/images", response.status_code, response.json())
    return response


def raw_objects(deployed: dict[str, Any], local_stack: stack.StackConfig, tenant: str) -> int:
    s3 = stack.aws_client(local_stack, "s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=deployed["raw_bucket_name"], Prefix=f"raw/{tenant}/")
    return sum(page.get("KeyCount", 0) for page in pages)


def test_the_n_plus_first_upload_of_the_day_is_429_with_retry_after_and_stores_nothing(
    url: str, probe_keys: dict[str, str], deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    key = probe_keys["quota-probe"]
    refused = put(url, key, b"not an image at all")  # refused uploads cost nothing
    assert refused.status_code == 415
    stored = [put(url, key, png(n)) for n in range(3)]
    assert [r.status_code for r in stored] == [201, 201, 201]
    before = raw_objects(deployed, local_stack, "quota-probe")

    over = put(url, key, png(9))
    assert over.status_code == 429 and over.json()["error"]["code"] == "quota_exceeded"
    now = datetime.now(UTC)
    until_midnight = 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
    assert 0 < int(over.headers["Retry-After"]) <= until_midnight + 1
    presign = requests.post(f"{url}/v1/uploads", headers={"x-api-key": key}, timeout=30,
                            json={"filename": "x.png", "content_type": "image/png", "size_bytes": 100})  # fmt: skip
    assert presign.status_code == 429 and "Retry-After" in presign.headers
    # The day's counter is the tenant's, not the key's: another key of the tenant is refused too.
    second = keys.admin_for(deployed, local_stack).issue(f"quota-b-{int(time.time())}", "t", "quota-probe")
    assert put(url, second, png(8)).status_code == 429
    assert raw_objects(deployed, local_stack, "quota-probe") == before
    listed = requests.get(f"{url}/v1/images", params={"status": "RECEIVED", "limit": "100"}, timeout=30,
                          headers={"x-api-key": key}).json()["items"]  # fmt: skip
    listed += requests.get(f"{url}/v1/images", params={"status": "PROCESSED", "limit": "100"}, timeout=30,
                           headers={"x-api-key": key}).json()["items"]  # fmt: skip
    assert len({item["image_id"] for item in listed}) <= 3  # processing may move them; never a fourth


def test_a_tenant_over_its_request_rate_gets_429_until_the_next_minute(url: str, probe_keys: dict[str, str]) -> None:
    if datetime.now(UTC).second > 50:  # keep the six requests inside one minute window
        time.sleep(61 - datetime.now(UTC).second)
    key = probe_keys["rate-probe"]
    statuses = []
    for _ in range(6):
        response = requests.get(f"{url}/v1/images", headers={"x-api-key": key}, timeout=30)
        statuses.append(response.status_code)
    assert statuses == [200] * 5 + [429], statuses
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
