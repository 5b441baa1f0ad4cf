"""The ingestion API end to end over HTTP: the local gateway serving what Terraform deployed into moto,
a real HTTP client, keys from the deployed Secrets Manager registry, bytes landing in the deployed bucket."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from PIL import Image

from scripts.local import gateway as local_gateway
from scripts.local import stack
from tests import sigv4
from tests.openapi import assert_response_matches

pytestmark = pytest.mark.integration


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (250, 200, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def checked(response: requests.Response, method: str, route: str) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert_response_matches(method, route, response.status_code, body)
    return body


def test_routes_are_discovered_from_the_deployed_api(deployed: dict[str, Any], local_stack: stack.StackConfig) -> None:
    gateway = local_gateway.build(local_stack, deployed)
    assert {(r.method, r.resource) for r in gateway.routes} == {
        ("POST", "/v1/uploads"),
        ("PUT", "/v1/images"),
        ("GET", "/v1/images"),
        ("GET", "/v1/images/{image_id}"),
        ("DELETE", "/v1/images/{image_id}"),
    }
    assert all(r.authorizer is not None for r in gateway.routes)


def test_direct_upload_then_get_over_http(base_url: str, keys: dict[str, str]) -> None:
    headers = {"x-api-key": keys["good"], "Content-Type": "image/png"}
    created = requests.put(
        f"{base_url}/v1/images", params={"filename": "sun.png"}, data=png(), headers=headers, timeout=30
    )
    assert created.status_code == 201, created.text
    body = checked(created, "PUT", "/v1/images")
    assert body["owner"] == "team-a" and body["status"] == "RECEIVED"

    fetched = requests.get(f"{base_url}/v1/images/{body['image_id']}", headers={"x-api-key": keys["good"]}, timeout=30)
    assert checked(fetched, "GET", "/v1/images/{image_id}")["sha256"] == body["sha256"]


def test_presign_then_post_the_bytes_to_s3(
    base_url: str, keys: dict[str, str], deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    data = png((120, 80))
    answer = requests.post(
        f"{base_url}/v1/uploads",
        json={"filename": "big.png", "content_type": "image/png", "size_bytes": len(data)},
        headers={"x-api-key": keys["good"]},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    upload = checked(answer, "POST", "/v1/uploads")["upload"]
    # What the deployed function signed, checked as S3 would (the emulator checks nothing of it).
    env = local_stack.client_env()
    form = sigv4.verify_post(
        upload["url"],
        upload["fields"],
        env["AWS_SECRET_ACCESS_KEY"],
        now=datetime.now(UTC),
        region=env["AWS_DEFAULT_REGION"],
    )
    assert sigv4.post_accepts(form, deployed["raw_bucket_name"], upload["fields"], len(data)) is None
    assert sigv4.post_accepts(form, deployed["raw_bucket_name"], upload["fields"], 10 * 1024 * 1024 + 1)
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("big.png", data)}, timeout=30)
    assert sent.status_code in (200, 201, 204), sent.text
    head = stack.aws_client(local_stack, "s3").head_object(
        Bucket=deployed["raw_bucket_name"], Key=upload["fields"]["key"]
    )
    assert head["ContentLength"] == len(data) and head["SSEKMSKeyId"] == deployed["kms_key_arn"]


@pytest.mark.parametrize(("key_name", "status"), [(None, 401), ("garbage", 401), ("revoked", 403)])
def test_credentials_are_required(base_url: str, keys: dict[str, str], key_name: str | None, status: int) -> None:
    headers = {} if key_name is None else {"x-api-key": keys.get(key_name, key_name)}
    response = requests.get(f"{base_url}/v1/images", headers=headers, timeout=30)
    assert response.status_code == status
    assert response.json()["error"]["request_id"]


def test_hostile_upload_is_refused_with_its_reason(base_url: str, keys: dict[str, str]) -> None:
    response = requests.put(
        f"{base_url}/v1/images",
        data=b"<html><script>x</script></html>",
        headers={"x-api-key": keys["good"], "Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert response.status_code == 415
    assert checked(response, "PUT", "/v1/images")["error"]["code"] == "unknown_format"


def test_stage_throttling_from_terraform_answers_429_over_http(
    deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    # The module's defaults (50 req/s, burst 100), read back from the deployed stage; the clock is frozen so
    # that no token is refilled while the burst is spent.
    throttling = local_gateway.discover_throttling(
        stack.aws_client(local_stack, "apigateway"), deployed["rest_api_id"], deployed["api_stage_name"]
    )
    assert throttling == {"*/*": local_gateway.Throttle(50.0, 100)}
    server = local_gateway.make_server(local_gateway.build(local_stack, deployed, clock=lambda: 0.0), 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/images"
    try:
        with requests.Session() as session:
            statuses = [session.get(url, timeout=10).status_code for _ in range(101)]
            throttled = session.get(url, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert statuses == [401] * 100 + [429]  # no key: refused, but each request spent a token
    assert throttled.status_code == 429
    assert checked(throttled, "GET", "/v1/images")["error"]["code"] == "throttled"


def test_listing_pages_over_http_until_the_cursor_runs_out(base_url: str, keys: dict[str, str]) -> None:
    headers = {"x-api-key": keys["good"]}
    made = []
    for i in range(5):
        created = requests.put(
            f"{base_url}/v1/images",
            data=png((30 + i, 30)),
            headers={**headers, "Content-Type": "image/png"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        made.append(created.json())
    since = min(item["created_at"] for item in made)
    seen: list[str] = []
    params: dict[str, str] = {"status": "RECEIVED", "since": since, "limit": "2"}
    for _ in range(10):  # bounded: 5 items in pages of 2 need 3 pages (or 4 if the last one is empty)
        page = requests.get(f"{base_url}/v1/images", params=params, headers=headers, timeout=30)
        body = checked(page, "GET", "/v1/images")
        assert page.status_code == 200 and len(body["items"]) <= 2
        seen += [item["image_id"] for item in body["items"]]
        if not body["next"]:
            break
        params["next"] = body["next"]
    else:
        pytest.fail("the cursor never ran out")
    ours = [image_id for image_id in seen if image_id in {item["image_id"] for item in made}]
    assert ours == [item["image_id"] for item in reversed(made)]  # each once, newest first
    assert len(seen) == len(set(seen))

    bad_cursor = requests.get(
        f"{base_url}/v1/images", params={"status": "RECEIVED", "next": "not-a-cursor"}, headers=headers, timeout=30
    )
    assert (bad_cursor.status_code, bad_cursor.json()["error"]["code"]) == (400, "invalid_cursor")
