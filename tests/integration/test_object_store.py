"""The object-store adapter against the Terraform-deployed raw bucket on the moto server."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from imgpipe.adapters.object_store import ObjectStore
from imgpipe.adapters.s3_client import s3_client
from imgpipe.ids import new_image_id
from scripts.local import stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def store(deployed: dict[str, Any], local_stack: stack.StackConfig) -> ObjectStore:
    env = local_stack.client_env()
    client = s3_client(
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    return ObjectStore(client, deployed["raw_bucket_name"], deployed["kms_key_arn"])


def test_put_encrypts_with_the_cmk_and_delete_removes_every_version(
    store: ObjectStore, local_stack: stack.StackConfig, deployed: dict[str, Any]
) -> None:
    s3 = stack.aws_client(local_stack, "s3")
    key = f"raw/{new_image_id()}"
    store.put(key, b"v1", "image/png")
    store.put(key, b"v2", "image/png")
    head = s3.head_object(Bucket=store.bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == deployed["kms_key_arn"]
    assert len(s3.list_object_versions(Bucket=store.bucket, Prefix=key)["Versions"]) == 2

    store.delete(key)
    assert not store.exists(key)
    listing = s3.list_object_versions(Bucket=store.bucket, Prefix=key)
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")


def test_presigned_post_pins_key_type_size_and_key_and_works_with_a_plain_http_client(store: ObjectStore) -> None:
    key = f"raw/{new_image_id()}"
    post = store.presigned_post(key, "image/png", max_bytes=1024, expires_in=120)
    policy = json.loads(base64.b64decode(post.fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 1024] in conditions
    assert {"key": key} in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"x-amz-server-side-encryption": "aws:kms"} in conditions
    assert any("x-amz-server-side-encryption-aws-kms-key-id" in c for c in conditions if isinstance(c, dict))

    response = requests.post(post.url, data=post.fields, files={"file": ("a.png", b"\x89PNG-bytes")}, timeout=10)
    assert response.status_code in (200, 201, 204), response.text
    assert store.exists(key)


@pytest.mark.parametrize("seconds", [0, 901])
def test_presigned_post_lifetime_is_bounded(store: ObjectStore, seconds: int) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        store.presigned_post("raw/x", "image/png", 10, expires_in=seconds)
