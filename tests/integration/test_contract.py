"""The API's contract as a real HTTP client meets it: the local gateway serving what Terraform deployed, every
answer checked against docs/api/openapi.yaml. Each test is a defect a client found (issue #18, item 7): a
request the gateway could not answer, a value the API took or changed silently, an answer the spec did not say.
And a client generated from the spec drives every operation."""

from __future__ import annotations

import http.client
import importlib
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from PIL import Image

from scripts.local import stack
from scripts.local import worker as local_worker
from tests.openapi import SPEC_PATH, assert_response_matches, spec

pytestmark = pytest.mark.integration


def jpeg(size: tuple[int, int] = (40, 20), orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 90, 160)).save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def checked(response: requests.Response, method: str, route: str) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert_response_matches(method, route, response.status_code, body)
    return body


def error_shape(body: Any) -> None:
    """An answer no operation documents (an unknown route): still the API's error shape."""
    from openapi_schema_validator import OAS30Validator

    document = spec()
    schema = {**document["components"]["schemas"]["Error"], "components": document["components"]}
    errors = list(OAS30Validator(schema).iter_errors(body))
    assert not errors, [e.message for e in errors]


def item_count(local_stack: stack.StackConfig, deployed: dict[str, Any]) -> int:
    ddb = stack.aws_client(local_stack, "dynamodb")
    return int(ddb.scan(TableName=deployed["metadata_table_name"], Select="COUNT")["Count"])


def raw_count(local_stack: stack.StackConfig, deployed: dict[str, Any]) -> int:
    s3 = stack.aws_client(local_stack, "s3")
    return int(s3.list_objects_v2(Bucket=deployed["raw_bucket_name"]).get("KeyCount", 0))


# ------------------------------------------------------------------------------------------- the gateway answers


@pytest.mark.parametrize(
    "content_type", [None, "application/octet-stream", "text/plain", "application/x-www-form-urlencoded"]
)
def test_image_bytes_without_an_image_type_get_a_415_and_nothing_is_stored(
    base_url: str,
    keys: dict[str, str],
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
    content_type: str | None,
) -> None:
    # What `curl --data-binary @photo.jpg` sends: JPEG bytes (not UTF-8) under a text type, or no type at all.
    before = (item_count(local_stack, deployed), raw_count(local_stack, deployed))
    headers = {"x-api-key": keys["good"], **({"Content-Type": content_type} if content_type else {})}
    answer = requests.put(f"{base_url}/v1/images", data=jpeg(), headers=headers, timeout=30)
    assert answer.status_code == 415, answer.text
    assert checked(answer, "PUT", "/v1/images")["error"]["code"] == "unsupported_type"
    assert (item_count(local_stack, deployed), raw_count(local_stack, deployed)) == before


def test_image_star_lets_the_api_detect_the_type(base_url: str, keys: dict[str, str]) -> None:
    answer = requests.put(
        f"{base_url}/v1/images", data=jpeg(), headers={"x-api-key": keys["good"], "Content-Type": "image/*"}, timeout=30
    )
    assert answer.status_code == 201, answer.text
    body = checked(answer, "PUT", "/v1/images")
    assert (body["format"], body["declared_type"]) == ("jpeg", "image/jpeg")


def raw_request(base_url: str, request_line_target: str) -> tuple[int, bytes]:
    where = urlsplit(base_url)
    connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=30)
    try:
        connection.putrequest("GET", request_line_target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("length", [10_300, 70_000, 300_000])
def test_a_request_line_over_the_quota_gets_414_in_the_error_shape(base_url: str, length: int) -> None:
    status, body = raw_request(base_url, "/v1/images?status=" + "A" * length)
    assert status == 414
    answer = json.loads(body)
    error_shape(answer)
    assert answer["error"]["code"] == "uri_too_long"


def test_a_long_but_allowed_request_line_still_reaches_the_api(base_url: str, keys: dict[str, str]) -> None:
    answer = requests.get(
        f"{base_url}/v1/images", params={"since": "x" * 9_000}, headers={"x-api-key": keys["good"]}, timeout=30
    )
    assert answer.status_code == 400 and checked(answer, "GET", "/v1/images")["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v2/images"), ("GET", "/v1"), ("DELETE", "/v1/images"), ("PATCH", "/v1/uploads")]
)
def test_an_unknown_route_or_method_is_404_not_found(
    base_url: str, keys: dict[str, str], method: str, path: str
) -> None:
    answer = requests.request(method, f"{base_url}{path}", headers={"x-api-key": keys["good"]}, timeout=30)
    assert answer.status_code == 404
    error_shape(answer.json())
    assert answer.json()["error"]["code"] == "not_found"


def test_an_unknown_route_answers_as_the_deployed_gateway_response_says(
    deployed: dict[str, Any], local_stack: stack.StackConfig, base_url: str
) -> None:
    # The same answer AWS gives: the local gateway renders the response deployed into the emulator.
    deployed_response = stack.aws_client(local_stack, "apigateway").get_gateway_response(
        restApiId=deployed["rest_api_id"], responseType="MISSING_AUTHENTICATION_TOKEN"
    )
    assert deployed_response["statusCode"] == "404"
    answer = requests.get(f"{base_url}/v9/nothing", timeout=30)
    template = deployed_response["responseTemplates"]["application/json"]
    expected = json.loads(template.replace("$context.requestId", answer.json()["error"]["request_id"]))
    assert answer.json() == expected


@pytest.mark.parametrize("key", [None, "", "imgpipe_nope", "imgpipe_team-a_" + "0" * 43])
def test_no_malformed_or_unknown_credentials_are_401_unauthorized(base_url: str, key: str | None) -> None:
    headers = {} if key is None else {"x-api-key": key}
    for method, route, path in (("GET", "/v1/images", "/v1/images"), ("POST", "/v1/uploads", "/v1/uploads")):
        answer = requests.request(method, f"{base_url}{path}", headers=headers, json={}, timeout=30)
        assert answer.status_code == 401
        assert checked(answer, method, route)["error"]["code"] == "unauthorized"


# ------------------------------------------------------------------------------------------- values as documented


@pytest.mark.parametrize(
    "changes",
    [{"size_bytes": "10"}, {"size_bytes": True}, {"size_bytes": 10.5}, {"filename": 7}, {"filename": "a" * 1025}],
)
def test_a_presign_request_with_a_wrong_json_type_or_length_is_422(
    base_url: str,
    keys: dict[str, str],
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
    changes: dict[str, Any],
) -> None:
    before = item_count(local_stack, deployed)
    payload = {"filename": "a.png", "content_type": "image/png", "size_bytes": 10, **changes}
    answer = requests.post(f"{base_url}/v1/uploads", json=payload, headers={"x-api-key": keys["good"]}, timeout=30)
    assert answer.status_code == 422, answer.text
    assert checked(answer, "POST", "/v1/uploads")["error"]["code"] == "invalid_request"
    assert item_count(local_stack, deployed) == before


def test_a_filename_over_1024_characters_is_refused_not_cut(
    base_url: str, keys: dict[str, str], deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    headers = {"x-api-key": keys["good"], "Content-Type": "image/jpeg"}
    kept = requests.put(
        f"{base_url}/v1/images", params={"filename": "é" * 1024}, data=jpeg(), headers=headers, timeout=30
    )
    assert kept.status_code == 201 and checked(kept, "PUT", "/v1/images")["filename"] == "é" * 1024
    before = (item_count(local_stack, deployed), raw_count(local_stack, deployed))
    refused = requests.put(
        f"{base_url}/v1/images", params={"filename": "é" * 1025}, data=jpeg(), headers=headers, timeout=30
    )
    assert refused.status_code == 400
    assert checked(refused, "PUT", "/v1/images")["error"]["code"] == "bad_filename"
    assert (item_count(local_stack, deployed), raw_count(local_stack, deployed)) == before


@pytest.mark.parametrize("limit", ["abc", "1e3", "0", "101", "-1", "٣"])
def test_a_bad_limit_is_400_without_a_python_message(base_url: str, keys: dict[str, str], limit: str) -> None:
    answer = requests.get(
        f"{base_url}/v1/images", params={"limit": limit}, headers={"x-api-key": keys["good"]}, timeout=30
    )
    assert answer.status_code == 400
    body = checked(answer, "GET", "/v1/images")
    assert "invalid literal" not in body["error"]["message"] and "limit" in body["error"]["message"]


def test_the_201_reports_the_upright_size_the_processed_item_keeps(
    base_url: str, keys: dict[str, str], deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    headers = {"x-api-key": keys["good"], "Content-Type": "image/jpeg"}
    created = requests.put(f"{base_url}/v1/images", data=jpeg((40, 20), orientation=6), headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    body = checked(created, "PUT", "/v1/images")
    assert (body["width"], body["height"]) == (20, 40)  # stored 40x20, shown a quarter turn

    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed)
    processor = next(p for p in worker.pollers if p.mapping.function_name == deployed["processor_function_name"])
    deadline = time.monotonic() + 120
    while True:
        fetched = requests.get(
            f"{base_url}/v1/images/{body['image_id']}", headers={"x-api-key": keys["good"]}, timeout=30
        )
        image = checked(fetched, "GET", "/v1/images/{image_id}")
        if image["status"] == "PROCESSED":
            break
        assert time.monotonic() < deadline, (image, processor.stats)
        processor.poll_once(wait_s=0)
    assert (image["width"], image["height"]) == (body["width"], body["height"])


# ------------------------------------------------------------------------------------------- a generated client


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """openapi-python-client's package for docs/api/openapi.yaml, generated now (never committed: the spec is the
    source), imported from a temporary folder."""
    where = tmp_path_factory.mktemp("client")
    config = where / "config.yaml"
    # image/* is a binary body the generator does not know by name; octet-stream is how it sends raw bytes.
    overrides = {"content_type_overrides": {"image/*": "application/octet-stream"}}
    config.write_text(yaml.safe_dump({"package_name_override": "imgpipe_api_client", "post_hooks": [], **overrides}))
    generated = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(SPEC_PATH),
            "--config",
            str(config),
            "--output-path",
            str(where / "out" / "imgpipe_api_client"),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout, generated.stdout  # every operation generated, none skipped
    sys.path.insert(0, str(where / "out"))
    try:
        yield importlib.import_module("imgpipe_api_client")
    finally:
        sys.path.remove(str(where / "out"))
        for name in [m for m in sys.modules if m.split(".")[0] == "imgpipe_api_client"]:
            del sys.modules[name]


def test_the_spec_server_url_has_no_path_so_generated_paths_are_not_doubled() -> None:
    [server] = spec()["servers"]
    assert urlsplit(server["url"]).path in ("", "/")
    assert all(path.startswith("/v1/") for path in spec()["paths"])


def test_a_client_generated_from_the_spec_drives_every_operation(
    generated_client: Any, base_url: str, keys: dict[str, str]
) -> None:
    from imgpipe_api_client import AuthenticatedClient, Client
    from imgpipe_api_client.api.default import (
        delete_v1_images_image_id,
        get_v1_images,
        get_v1_images_image_id,
        post_v1_uploads,
        put_v1_images,
    )
    from imgpipe_api_client.models import Error, PresignedUpload, UploadRequest
    from imgpipe_api_client.models import Image as ImageModel
    from imgpipe_api_client.models.status import Status
    from imgpipe_api_client.models.upload_request_content_type import UploadRequestContentType
    from imgpipe_api_client.types import File

    client = AuthenticatedClient(base_url=base_url, token=keys["good"], prefix="", auth_header_name="x-api-key")
    with client:
        stored = put_v1_images.sync(client=client, body=File(payload=io.BytesIO(jpeg())), filename="gen.jpg")
        assert isinstance(stored, ImageModel), stored
        assert (stored.format_, stored.status, stored.filename) == ("jpeg", Status.RECEIVED, "gen.jpg")

        fetched = get_v1_images_image_id.sync(client=client, image_id=str(stored.image_id))
        assert isinstance(fetched, ImageModel) and fetched.sha256 == stored.sha256

        page = get_v1_images.sync(client=client, status=Status.RECEIVED, limit=100)
        assert not isinstance(page, Error) and page is not None
        assert stored.image_id in {i.image_id for i in page.items}

        presigned = post_v1_uploads.sync(
            client=client,
            body=UploadRequest(
                filename="big.png", content_type=UploadRequestContentType.IMAGEPNG, size_bytes=5_000_000
            ),
        )
        assert isinstance(presigned, PresignedUpload) and presigned.status == Status.PENDING_UPLOAD

        deleted = delete_v1_images_image_id.sync_detailed(client=client, image_id=str(stored.image_id))
        assert deleted.status_code == 204
        gone = get_v1_images_image_id.sync(client=client, image_id=str(stored.image_id))
        assert isinstance(gone, Error) and gone.error.code == "not_found"
        again = delete_v1_images_image_id.sync(client=client, image_id=str(stored.image_id))
        assert isinstance(again, Error) and again.error.code == "not_found"

    with Client(base_url=base_url) as anonymous:
        refused = get_v1_images.sync(client=anonymous)
        assert isinstance(refused, Error) and refused.error.code == "unauthorized"
