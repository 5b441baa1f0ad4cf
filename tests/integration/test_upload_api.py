"""upload_api handler invoked in-process with API Gateway proxy events, against the deployed moto resources."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import requests
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.uploads import DIRECT_UPLOAD_MAX_BYTES, UploadService
from scripts.local import stack
from scripts.local.events import api_gateway_proxy_event
from scripts.local.lambda_host import LocalContext, load_handler
from tests import adversarial
from tests.emf import emitted_metrics
from tests.imaging import animated_gif, handmade_png, padded_png, png_chunk
from tests.openapi import assert_response_matches

pytestmark = pytest.mark.integration
AUTH = {"key_id": "team-a", "owner": "Team A", "tenant_id": "team-a", "kind": "api_key", "principalId": "team-a"}


@pytest.fixture(scope="module")
def api(deployed: dict[str, Any], local_stack: stack.StackConfig) -> Iterator[ModuleType]:
    env = {
        **local_stack.client_env(),
        "RAW_BUCKET": deployed["raw_bucket_name"],
        "PROCESSED_BUCKET": deployed["processed_bucket_name"],
        "TABLE_NAME": deployed["metadata_table_name"],
        "KMS_KEY_ARN": deployed["kms_key_arn"],
        "RAW_PREFIX": deployed["raw_prefix"],
        "IDEMPOTENCY_TABLE": deployed["api_idempotency_table_name"],
        "CURSOR_KEY_ID": deployed["cursor_key_arn"],
        "AWS_LAMBDA_FUNCTION_NAME": "upload_api",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "imgpipe",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        module = load_handler("upload_api")
        module.service.cache_clear()
        yield module


def respond(
    api: ModuleType, method: str, path: str, authorizer: dict[str, Any] | None = AUTH, **kwargs: Any
) -> dict[str, Any]:
    """The handler's whole proxy response, its body checked against the OpenAPI document."""
    event = api_gateway_proxy_event(method, path, authorizer=authorizer, **kwargs)
    response: dict[str, Any] = api.handler(event, LocalContext("upload_api", timeout_s=30))
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert_response_matches(
        method, kwargs.get("resource") or path, response["statusCode"], json.loads(response["body"])
    )
    return response


def call(
    api: ModuleType, method: str, path: str, authorizer: dict[str, Any] | None = AUTH, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    response = respond(api, method, path, authorizer, **kwargs)
    return response["statusCode"], json.loads(response["body"])


def png(size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def put_image(
    api: ModuleType, data: bytes, content_type: str = "image/png", headers: dict[str, list[str]] | None = None
) -> tuple[int, dict[str, Any]]:
    response = put_image_response(api, data, content_type, headers)
    return response["statusCode"], json.loads(response["body"])


def put_image_response(
    api: ModuleType, data: bytes, content_type: str = "image/png", headers: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return respond(
        api,
        "PUT",
        "/v1/images",
        body=data,
        binary=True,
        headers={"content-type": [content_type], **(headers or {})},
        query={"filename": ["cat.png"]},
    )


def raw_keys(local_stack: stack.StackConfig, deployed: dict[str, Any]) -> list[str]:
    s3 = stack.aws_client(local_stack, "s3")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=deployed["raw_bucket_name"]).get("Contents", [])]


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


def test_a_retried_presign_with_an_idempotency_key_is_one_image_with_a_working_form(
    api: ModuleType, local_stack: stack.StackConfig, deployed: dict[str, Any]
) -> None:
    data = png((48, 40))
    body = json.dumps({"filename": "retry.png", "content_type": "image/png", "size_bytes": len(data)})
    key = {"Idempotency-Key": [f"form-{uuid.uuid4()}"]}
    first = respond(api, "POST", "/v1/uploads", body=body, headers=key)
    again = respond(api, "POST", "/v1/uploads", body=body, headers=key)
    assert first["statusCode"] == again["statusCode"] == 201
    assert again["multiValueHeaders"].get("Idempotent-Replayed") == ["true"]
    assert "Idempotent-Replayed" not in first["multiValueHeaders"]
    form, replayed_form = json.loads(first["body"]), json.loads(again["body"])
    assert replayed_form["image_id"] == form["image_id"]
    assert replayed_form["upload"]["fields"]["key"] == form["upload"]["fields"]["key"]

    upload = replayed_form["upload"]  # the replay's form is a working one
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("retry.png", data)}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text
    head = stack.aws_client(local_stack, "s3").head_object(
        Bucket=deployed["raw_bucket_name"], Key=upload["fields"]["key"]
    )
    assert head["ContentLength"] == len(
        data
    )  # (after the bytes, a repeat is a 409: tests/unit/test_presigned_idempotency.py)

    other = call(api, "POST", "/v1/uploads", body=body.replace("retry.png", "other.png"), headers=key)
    assert (other[0], other[1]["error"]["code"]) == (422, "idempotency_key_reused")
    bad = call(api, "POST", "/v1/uploads", body=body, headers={"Idempotency-Key": ["no spaces allowed"]})
    assert (bad[0], bad[1]["error"]["code"]) == (400, "invalid_request")


def test_direct_upload_limit_is_exact(api: ModuleType) -> None:
    status, body = put_image(api, padded_png(DIRECT_UPLOAD_MAX_BYTES))
    assert status == 201, body
    status, body = put_image(api, padded_png(DIRECT_UPLOAD_MAX_BYTES + 1))
    assert (status, body["error"]["code"]) == (413, "too_large")


def stored_counts(local_stack: stack.StackConfig, deployed: dict[str, Any]) -> tuple[int, int]:
    """(object versions in the raw bucket, items in the table), every page read: a refusal must change neither."""
    s3, ddb = stack.aws_client(local_stack, "s3"), stack.aws_client(local_stack, "dynamodb")
    versions = sum(
        len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=deployed["raw_bucket_name"])
    )
    items = sum(
        page["Count"]
        for page in ddb.get_paginator("scan").paginate(TableName=deployed["metadata_table_name"], Select="COUNT")
    )
    return versions, items


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"", "image/png", 400, "empty"),
        (b"<html><body>hi</body></html>", "image/jpeg", 415, "unknown_format"),
        (None, "image/jpeg", 415, "type_mismatch"),  # a PNG declared as JPEG
        (None, "text/plain", 415, "unsupported_type"),
        (handmade_png(1, 100_000), "image/png", 422, "dimension_too_large"),  # 1 px x 100 000 px
        (handmade_png(16_000, 16_000), "image/png", 422, "too_many_pixels"),  # a 256 MP bomb in ~100 bytes
        (animated_gif(101), "image/gif", 422, "too_many_frames"),
        (None, "image/png", 422, "truncated"),  # a PNG cut short
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + png_chunk(b"IEND", b""), "image/png", 422, "corrupt"),
        (adversarial.png_with_undecodable_pixels(), "image/png", 422, "corrupt"),  # headers fine, pixels not
        (adversarial.tiff_cut_after_first_page(), "image/tiff", 422, "truncated"),  # was a 500 (TypeError)
        (adversarial.tiff_pages(20_000), "image/tiff", 422, "too_many_frames"),  # counted to 101, not 20 000
    ],
    ids=[
        "empty",
        "html",
        "png-as-jpeg",
        "text",
        "1x100000",
        "png-bomb",
        "gif-frames",
        "truncated",
        "corrupt",
        "undecodable-pixels",
        "tiff-cut-short",
        "tiff-20000-pages",
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
    if data is None:
        data = png((64, 64))[:-40] if code == "truncated" else png()
    before = stored_counts(local_stack, deployed)
    got, body = put_image(api, data, content_type)
    assert (got, body["error"]["code"]) == (status, code)
    assert body["error"]["request_id"]
    assert stored_counts(local_stack, deployed) == before


def test_an_expired_item_is_gone_before_ttl_deletes_it(
    api: ModuleType, deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    status, body = put_image(api, png((19, 17)))
    assert status == 201
    image_id = body["image_id"]
    # TTL deletes within days of expiry; until then the item is still in the table, and must read as gone.
    stack.aws_client(local_stack, "dynamodb").update_item(
        TableName=deployed["metadata_table_name"],
        Key={"image_id": {"S": image_id}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    status, body = call(
        api, "GET", f"/v1/images/{image_id}", resource="/v1/images/{image_id}", path_parameters={"image_id": image_id}
    )
    assert (status, body["error"]["code"]) == (404, "not_found")
    listed = call(api, "GET", "/v1/images", query={"status": ["RECEIVED"], "limit": ["100"]})[1]["items"]
    assert image_id not in [item["image_id"] for item in listed]


def test_log_lines_carry_the_image_and_request_ids_of_their_own_request_only(
    api: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = io.StringIO()
    monkeypatch.setattr(api.logger.registered_handler, "stream", log)
    status, body = put_image(api, png((18, 18)))
    assert status == 201
    stored = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [line["message"] for line in stored] == ["image stored"]
    assert stored[0]["image_id"] == body["image_id"]
    assert stored[0]["correlation_id"] == body["image_id"]  # the image's id, as downstream
    assert stored[0]["request_id"]  # API Gateway's request id

    log.truncate(0)
    log.seek(0)
    assert put_image(api, b"")[0] == 400  # the next (warm) invocation
    refused = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [line["message"] for line in refused] == ["request refused"]
    assert "image_id" not in refused[0]  # no stale key from the previous request
    assert refused[0]["correlation_id"] != stored[0]["request_id"]  # its own request's id (no image)


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
        # JSON types as documented: no string, boolean or float for a size, no number for a name
        (json.dumps({"filename": "a.png", "content_type": "image/png", "size_bytes": "10"}), 422, "invalid_request"),
        (json.dumps({"filename": "a.png", "content_type": "image/png", "size_bytes": True}), 422, "invalid_request"),
        (json.dumps({"filename": "a.png", "content_type": "image/png", "size_bytes": 10.0}), 422, "invalid_request"),
        (json.dumps({"filename": 7, "content_type": "image/png", "size_bytes": 10}), 422, "invalid_request"),
        (json.dumps({"filename": "a" * 1025, "content_type": "image/png", "size_bytes": 10}), 422, "invalid_request"),
    ],
)
def test_bad_presign_requests_get_precise_errors(api: ModuleType, payload: str, status: int, code: str) -> None:
    assert (lambda r: (r[0], r[1]["error"]["code"]))(call(api, "POST", "/v1/uploads", body=payload)) == (status, code)


@pytest.mark.parametrize("body", ["!!!!", "iVBORw0KGgo", "aGVsbG8=aGVsbG8=", "aGV sbG8="])
def test_a_body_marked_base64_that_is_not_is_400_and_stores_nothing(
    api: ModuleType, deployed: dict[str, Any], local_stack: stack.StackConfig, body: str
) -> None:
    # Over HTTP the gateway encodes the body itself; this is the event API Gateway could still hand over.
    before = raw_keys(local_stack, deployed)
    event = api_gateway_proxy_event(
        "PUT", "/v1/images", headers={"content-type": ["image/png"]}, authorizer=AUTH, body=body
    )
    event["isBase64Encoded"] = True
    response = api.handler(event, LocalContext("upload_api", timeout_s=30))
    answer = json.loads(response["body"])
    assert_response_matches("PUT", "/v1/images", response["statusCode"], answer)
    assert (response["statusCode"], answer["error"]["code"]) == (400, "invalid_body")
    assert raw_keys(local_stack, deployed) == before


def test_no_authorizer_context_fails_closed(api: ModuleType) -> None:
    status, body = call(api, "GET", "/v1/images", authorizer=None)
    assert (status, body["error"]["code"]) == (401, "unauthorized")


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


def test_accepted_and_rejected_uploads_are_counted_in_emf_by_reason(
    api: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert put_image(api, png())[0] == 201
    assert emitted_metrics(capsys.readouterr().out) == [("UploadsAccepted", {"service": "upload_api"}, [1.0])]

    assert put_image(api, b"<html></html>", "image/jpeg")[0] == 415
    assert put_image(api, b"")[0] == 400
    assert call(api, "POST", "/v1/uploads", body="{")[0] == 400
    assert call(api, "GET", "/v1/images", query={"status": ["BOGUS"]})[0] == 400  # a bad query, not an upload
    rejected = emitted_metrics(capsys.readouterr().out)
    assert rejected == [
        ("UploadsRejected", {"service": "upload_api", "reason": "unknown_format"}, [1.0]),
        ("UploadsRejected", {"service": "upload_api", "reason": "empty"}, [1.0]),
        ("UploadsRejected", {"service": "upload_api", "reason": "invalid_json"}, [1.0]),
    ]


def test_a_backend_failure_is_a_500_without_internals_and_leaves_no_object(
    api: ModuleType,
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The item write fails (the table does not exist) after the object was stored: the object must go again.
    service = api.service()
    monkeypatch.setattr(service, "_table", MetadataTable(stack.aws_client(local_stack, "dynamodb"), "no-such-table"))
    before = raw_keys(local_stack, deployed)
    log = io.StringIO()
    monkeypatch.setattr(api.logger.registered_handler, "stream", log)
    status, body = put_image(api, png((33, 33)))
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert body["error"]["request_id"]
    assert "Traceback" not in json.dumps(body) and "no-such-table" not in json.dumps(body)
    assert raw_keys(local_stack, deployed) == before
    logged = log.getvalue()
    assert "Traceback" in logged and "ResourceNotFoundException" in logged  # the trace goes to the log


def test_a_retried_upload_with_the_same_idempotency_key_is_stored_once(
    api: ModuleType, deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    data, key = png((21, 22)), {"Idempotency-Key": [f"retry-{uuid.uuid4()}"]}
    first = put_image_response(api, data, headers=key)
    again = put_image_response(api, data, headers=key)
    assert first["statusCode"] == again["statusCode"] == 201
    assert json.loads(again["body"]) == json.loads(first["body"])
    assert again["multiValueHeaders"].get("Idempotent-Replayed") == ["true"]
    assert "Idempotent-Replayed" not in first["multiValueHeaders"]
    image_id = json.loads(first["body"])["image_id"]
    assert [k for k in raw_keys(local_stack, deployed) if k.endswith(image_id)] != []
    assert len([k for k in raw_keys(local_stack, deployed) if image_id in k]) == 1

    other_bytes = put_image(api, png((22, 21)), headers=key)
    assert (other_bytes[0], other_bytes[1]["error"]["code"]) == (422, "idempotency_key_reused")

    # Another caller with the same header value is another request altogether.
    other_caller = call(
        api,
        "PUT",
        "/v1/images",
        authorizer={"key_id": "team-b", "owner": "Team B", "tenant_id": "team-b", "principalId": "team-b"},
        body=data,
        binary=True,
        headers={"content-type": ["image/png"], **key},
        query={"filename": ["cat.png"]},
    )
    assert other_caller[0] == 201 and other_caller[1]["image_id"] != image_id


def test_a_retry_while_the_first_upload_still_runs_is_a_409(api: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    service: UploadService = api.service()
    started, release = threading.Event(), threading.Event()
    real_upload = service.direct_upload

    def slow_upload(*args: Any, **kwargs: Any) -> dict[str, Any]:
        started.set()
        assert release.wait(10)
        return real_upload(*args, **kwargs)

    monkeypatch.setattr(service, "direct_upload", slow_upload)
    data, key = png((23, 23)), {"Idempotency-Key": [f"slow-{uuid.uuid4()}"]}
    first: list[tuple[int, dict[str, Any]]] = []
    worker = threading.Thread(target=lambda: first.append(put_image(api, data, headers=key)))
    worker.start()
    try:
        assert started.wait(10)
        status, body = put_image(api, data, headers=key)
        assert (status, body["error"]["code"]) == (409, "idempotency_in_progress")
    finally:
        release.set()
        worker.join(10)
    assert first and first[0][0] == 201
    assert put_image(api, data, headers=key)[1]["image_id"] == first[0][1]["image_id"]


def test_a_failed_upload_does_not_burn_its_idempotency_key(api: ModuleType) -> None:
    key = {"Idempotency-Key": [f"fix-{uuid.uuid4()}"]}
    assert put_image(api, png(), "image/jpeg", headers=key)[0] == 415  # wrong declared type
    assert put_image(api, png(), "image/png", headers=key)[0] == 201  # the corrected retry is a new request


@pytest.mark.parametrize("value", ["", "x" * 256, "spaces are not allowed", "ключ"])
def test_malformed_idempotency_keys_are_400(api: ModuleType, value: str) -> None:
    status, body = put_image(api, png(), headers={"Idempotency-Key": [value]})
    assert (status, body["error"]["code"]) == (400, "invalid_request")


def test_cors_headers_only_for_the_configured_origins(api: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://app.example.com,http://localhost:3000")
    with_cors = load_handler("upload_api")
    monkeypatch.setattr(with_cors, "service", api.service)
    for origin, allowed in [
        ("https://app.example.com", True),
        ("http://localhost:3000", True),
        ("https://evil.example", False),
    ]:
        response = respond(with_cors, "GET", "/v1/images", headers={"Origin": [origin]})
        assert response["statusCode"] == 200
        headers = response["multiValueHeaders"]
        assert headers.get("Access-Control-Allow-Origin") == ([origin] if allowed else None)
    # Without CORS_ALLOWED_ORIGINS (the default) no origin is ever allowed.
    response = respond(api, "GET", "/v1/images", headers={"Origin": ["https://app.example.com"]})
    assert "Access-Control-Allow-Origin" not in response["multiValueHeaders"]


class Killed(BaseException):
    """The process dies here (kill -9, a Lambda timeout or out-of-memory): no except or finally of the code
    under test may act on it, as none would run."""


def _kill_when_called(*_args: Any, **_kwargs: Any) -> None:
    raise Killed


def expire_in_progress_records(local_stack: stack.StackConfig, deployed: dict[str, Any]) -> int:
    """What time does to a dead attempt's Powertools record: it expires, and the key may be used again."""
    ddb, table = stack.aws_client(local_stack, "dynamodb"), deployed["api_idempotency_table_name"]
    stale = [
        item["id"]
        for page in ddb.get_paginator("scan").paginate(TableName=table)
        for item in page["Items"]
        if item.get("status", {}).get("S") == "INPROGRESS"
    ]
    for key in stale:
        ddb.delete_item(TableName=table, Key={"id": key})
    return len(stale)


def images_with_bytes(local_stack: stack.StackConfig, deployed: dict[str, Any], data: bytes) -> list[dict[str, Any]]:
    ddb = stack.aws_client(local_stack, "dynamodb")
    digest = hashlib.sha256(data).hexdigest()
    return [
        item
        for page in ddb.get_paginator("scan").paginate(
            TableName=deployed["metadata_table_name"],
            FilterExpression="sha256 = :digest",
            ExpressionAttributeValues={":digest": {"S": digest}},
        )
        for item in page["Items"]
    ]


@pytest.mark.parametrize(
    "dies",
    ["after-the-claim", "after-the-object", "after-the-item"],
)
def test_a_retry_after_a_crash_between_any_two_writes_stores_exactly_one_image(
    api: ModuleType,
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
    monkeypatch: pytest.MonkeyPatch,
    dies: str,
) -> None:
    """docs/api.md: a repeat with the same Idempotency-Key and bytes stores nothing new — also when the first
    attempt died between its writes (claim, object, item, idempotency record) and its record expired."""
    data = png((40 + len(dies), 17))
    key = {"Idempotency-Key": [f"crash-{dies}-{uuid.uuid4()}"]}
    keys_before = set(raw_keys(local_stack, deployed))
    service: UploadService = api.service()
    with monkeypatch.context() as crash:
        if dies == "after-the-claim":
            crash.setattr(service._raw, "put", _kill_when_called)
        elif dies == "after-the-object":
            crash.setattr(service._table, "put_new", _kill_when_called)
        else:  # the item is written; the idempotency record is never completed
            crash.setattr(DynamoDBPersistenceLayer, "_update_record", _kill_when_called)
        with pytest.raises(Killed):
            put_image_response(api, data, headers=key)
    assert expire_in_progress_records(local_stack, deployed) == 1

    status, body = put_image(api, data, headers=key)

    assert status == 201, body
    [item] = images_with_bytes(local_stack, deployed, data)  # exactly one image
    assert item["image_id"]["S"] == body["image_id"]
    new_keys = set(raw_keys(local_stack, deployed)) - keys_before
    assert new_keys == {item["raw_key"]["S"]}  # and no orphan object beside it
    again = put_image_response(api, data, headers=key)
    assert json.loads(again["body"])["image_id"] == body["image_id"]
