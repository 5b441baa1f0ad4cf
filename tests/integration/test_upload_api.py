"""upload_api handler invoked in-process with API Gateway proxy events, against the deployed moto resources."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import requests
from PIL import Image

from imgpipe.uploads import DIRECT_UPLOAD_MAX_BYTES
from scripts import stack
from scripts.events import api_gateway_proxy_event
from tests.lambda_loader import FakeContext, load_handler
from tests.openapi import assert_response_matches

pytestmark = pytest.mark.integration
AUTH = {"key_id": "team-a", "owner": "Team A", "principalId": "team-a"}


@pytest.fixture(scope="module")
def api(deployed: dict[str, Any], local_stack: stack.StackConfig) -> Iterator[ModuleType]:
    env = {
        **local_stack.client_env(),
        "RAW_BUCKET": deployed["raw_bucket_name"],
        "PROCESSED_BUCKET": deployed["processed_bucket_name"],
        "TABLE_NAME": deployed["metadata_table_name"],
        "KMS_KEY_ARN": deployed["kms_key_arn"],
        "RAW_PREFIX": deployed["raw_prefix"],
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "imgpipe",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        module = load_handler("upload_api")
        module.service.cache_clear()
        yield module


def call(
    api: ModuleType, method: str, path: str, authorizer: dict[str, Any] | None = AUTH, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    event = api_gateway_proxy_event(method, path, authorizer=authorizer, **kwargs)
    response = api.handler(event, FakeContext("upload_api"))
    body = json.loads(response["body"])
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert_response_matches(method, kwargs.get("resource") or path, response["statusCode"], body)
    return response["statusCode"], body


def png(size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def padded_png(total: int) -> bytes:
    """A valid PNG of exactly `total` bytes (a private ancillary chunk carries the padding)."""
    base = png()
    head, iend = base[:-12], base[-12:]
    pad = total - len(base) - 12
    chunk = struct.pack(">I", pad) + b"prVt" + b"\x00" * pad + struct.pack(">I", zlib.crc32(b"prVt" + b"\x00" * pad))
    data = head + chunk + iend
    assert len(data) == total
    return data


def put_image(api: ModuleType, data: bytes, content_type: str = "image/png") -> tuple[int, dict[str, Any]]:
    return call(
        api,
        "PUT",
        "/v1/images",
        body=data,
        binary=True,
        headers={"content-type": [content_type]},
        query={"filename": ["cat.png"]},
    )


def test_direct_upload_stores_object_and_item_and_reads_back(
    api: ModuleType, deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    status, body = put_image(api, png())
    assert status == 201, body
    assert body["status"] == "RECEIVED" and body["format"] == "png" and body["width"] == 32
    assert body["owner"] == "team-a" and body["filename"] == "cat.png"

    status, fetched = call(
        api,
        "GET",
        f"/v1/images/{body['image_id']}",
        resource="/v1/images/{image_id}",
        path_parameters={"image_id": body["image_id"]},
    )
    assert status == 200 and fetched["image_id"] == body["image_id"]

    s3 = stack.aws_client(local_stack, "s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=deployed["raw_bucket_name"]).get("Contents", [])]
    assert any(k.endswith(body["image_id"]) for k in keys)


def test_presigned_upload_flow_with_a_plain_http_client(
    api: ModuleType, local_stack: stack.StackConfig, deployed: dict[str, Any]
) -> None:
    data = png((64, 64))
    status, body = call(
        api,
        "POST",
        "/v1/uploads",
        body=json.dumps({"filename": "big.png", "content_type": "image/png", "size_bytes": len(data)}),
    )
    assert status == 201, body
    assert body["status"] == "PENDING_UPLOAD"
    upload = body["upload"]
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("big.png", data)}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text
    head = stack.aws_client(local_stack, "s3").head_object(
        Bucket=deployed["raw_bucket_name"], Key=upload["fields"]["key"]
    )
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == deployed["kms_key_arn"]


def test_direct_upload_limit_is_exact(api: ModuleType) -> None:
    status, body = put_image(api, padded_png(DIRECT_UPLOAD_MAX_BYTES))
    assert status == 201, body
    status, body = put_image(api, padded_png(DIRECT_UPLOAD_MAX_BYTES + 1))
    assert (status, body["error"]["code"]) == (413, "too_large")


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"", "image/png", 400, "empty"),
        (b"<html><body>hi</body></html>", "image/jpeg", 415, "unknown_format"),
        (None, "image/jpeg", 415, "type_mismatch"),  # a PNG declared as JPEG
        (None, "text/plain", 415, "unsupported_type"),
    ],
)
def test_refused_direct_uploads_write_nothing(
    api: ModuleType,
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
    data: bytes | None,
    content_type: str,
    status: int,
    code: str,
) -> None:
    s3 = stack.aws_client(local_stack, "s3")
    before = s3.list_objects_v2(Bucket=deployed["raw_bucket_name"]).get("KeyCount", 0)
    got, body = put_image(api, png() if data is None else data, content_type)
    assert (got, body["error"]["code"]) == (status, code)
    assert body["error"]["request_id"]
    assert s3.list_objects_v2(Bucket=deployed["raw_bucket_name"]).get("KeyCount", 0) == before


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ("{not json", 400, "invalid_json"),
        ('["a list"]', 400, "invalid_json"),
        (json.dumps({"filename": "a.png", "content_type": "image/png"}), 422, "invalid_request"),
        (
            json.dumps({"filename": "a.png", "content_type": "image/png", "size_bytes": 1, "admin": True}),
            422,
            "invalid_request",
        ),
        (json.dumps({"filename": "a.svg", "content_type": "image/svg+xml", "size_bytes": 10}), 415, "unsupported_type"),
        (
            json.dumps({"filename": "a.png", "content_type": "image/png", "size_bytes": 10 * 1024 * 1024 + 1}),
            413,
            "too_large",
        ),
    ],
)
def test_bad_presign_requests_get_precise_errors(api: ModuleType, payload: str, status: int, code: str) -> None:
    assert (lambda r: (r[0], r[1]["error"]["code"]))(call(api, "POST", "/v1/uploads", body=payload)) == (status, code)


def test_no_authorizer_context_fails_closed(api: ModuleType) -> None:
    status, body = call(api, "GET", "/v1/images", authorizer=None)
    assert (status, body["error"]["code"]) == (401, "missing_credentials")


@pytest.mark.parametrize("image_id", ["nope", "0192f1a2-0000-7000-8000-000000000000"])
def test_unknown_images_are_404(api: ModuleType, image_id: str) -> None:
    status, body = call(
        api, "GET", f"/v1/images/{image_id}", resource="/v1/images/{image_id}", path_parameters={"image_id": image_id}
    )
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_listing_pages_through_the_gsi(api: ModuleType) -> None:
    made = [put_image(api, png((8 + i, 8)))[1]["image_id"] for i in range(3)]
    status, page = call(api, "GET", "/v1/images", query={"status": ["RECEIVED"], "limit": ["2"]})
    assert status == 200 and len(page["items"]) == 2 and page["next"]
    status, rest = call(
        api, "GET", "/v1/images", query={"status": ["RECEIVED"], "limit": ["2"], "next": [page["next"]]}
    )
    listed = [i["image_id"] for i in page["items"] + rest["items"]]
    assert listed[:2] == list(reversed(made))[:2]
    assert call(api, "GET", "/v1/images", query={"status": ["BOGUS"]})[0] == 400
