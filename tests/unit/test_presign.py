"""What the pipeline signs, checked as S3 would check it (the emulator checks none of it): every presigned link and
upload form is SigV4 on the bucket's regional virtual-hosted endpoint, within its lifetime, and the form's policy
lets through exactly one key, one type, the size range and the environment's key — verified by the independent
verifier in tests/sigv4.py, not by botocore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from imgpipe.adapters.object_store import ObjectStore, PresignNotSigV4
from imgpipe.adapters.s3_client import s3_client, signs_v4_regionally
from tests import sigv4

SECRET = "example-secret-key/that+needs+encoding"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
BUCKET = "imgpipe-prod-raw-123456789012"


def store(region: str, **credentials: Any) -> ObjectStore:
    client = s3_client(
        region_name=region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key=SECRET,
        **credentials,
    )
    return ObjectStore(client, BUCKET, KEY_ARN)


def now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_links_are_sigv4_on_the_regional_virtual_hosted_endpoint(region: str) -> None:
    url = store(region).presigned_get("renditions/01J/large.jpg", expires_in=300)
    verified = sigv4.verify_presigned_url(url, SECRET, now=now(), region=region)
    assert verified.host == f"{BUCKET}.s3.{region}.amazonaws.com"
    assert verified.bucket_key == "renditions/01J/large.jpg"
    assert verified.expires_in == 300 and verified.signed_headers == ("host",)
    assert abs(verified.signed_at - now()) < timedelta(minutes=1)
    with pytest.raises(sigv4.SignatureInvalid, match="expired"):
        sigv4.verify_presigned_url(url, SECRET, now=now() + timedelta(seconds=301), region=region)


def test_a_link_made_with_session_credentials_signs_the_token() -> None:
    url = store("eu-west-1", aws_session_token="FwoGZXIvYXdzEXAMPLE//token+with/slashes=").presigned_get("k")
    verified = sigv4.verify_presigned_url(url, SECRET, now=now(), region="eu-west-1")
    assert verified.security_token == "FwoGZXIvYXdzEXAMPLE//token+with/slashes="
    # The token is part of the signed query: swapping it breaks the signature.
    with pytest.raises(sigv4.SignatureInvalid, match="does not match"):
        sigv4.verify_presigned_url(url.replace("FwoGZXIv", "FwoGZXIw"), SECRET, now=now(), region="eu-west-1")


def test_keys_with_characters_that_need_encoding_verify() -> None:
    key = "raw/2026/12/02/a b+c~d%e=é"
    url = store("eu-west-1").presigned_get(key)
    assert sigv4.verify_presigned_url(url, SECRET, now=now(), region="eu-west-1").bucket_key == key


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_upload_forms_are_sigv4_regional_and_let_through_exactly_what_was_asked(region: str) -> None:
    post = store(region, aws_session_token="TOKEN").presigned_post(
        "raw/2026/12/02/01JABC", "image/png", max_bytes=10, expires_in=120
    )
    assert post.url == f"https://{BUCKET}.s3.{region}.amazonaws.com/"
    verified = sigv4.verify_post(post.url, post.fields, SECRET, now=now(), region=region)
    assert timedelta(seconds=100) < verified.expiration - now() <= timedelta(seconds=121)
    assert {"x-amz-security-token": "TOKEN"} in verified.conditions

    def refused(size: int = 10, changed: dict[str, str] | None = None) -> str | None:
        return sigv4.post_accepts(verified, BUCKET, {**post.fields, **(changed or {})}, size)

    assert refused() is None and refused(size=1) is None
    assert "content-length-range" in str(refused(size=11))
    assert "content-length-range" in str(refused(size=0))
    assert "key" in str(refused(changed={"key": "raw/2026/12/02/someone-elses"}))
    assert "Content-Type" in str(refused(changed={"Content-Type": "text/html"}))
    assert "kms-key-id" in str(refused(changed={"x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN[:-1] + "7"}))
    assert "x-amz-server-side-encryption" in str(refused(changed={"x-amz-server-side-encryption": "AES256"}))
    assert "x-amz-meta-owner" in str(refused(changed={"x-amz-meta-owner": "me"}))  # no field the policy does not name
    assert "bucket" in str(sigv4.post_accepts(verified, BUCKET + "-other", post.fields, 5))


@pytest.mark.parametrize("expires_in", [0, 901])
def test_link_lifetime_is_bounded(expires_in: int) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        store("eu-west-1").presigned_get("k", expires_in=expires_in)


def test_botocores_default_client_is_refused_and_is_what_s3_would_refuse() -> None:
    # The defect this guards against: the default client signs Version 2 on the global endpoint.
    default = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key=SECRET)
    assert not signs_v4_regionally(default)
    with pytest.raises(sigv4.SignatureInvalid, match="Signature Version 2"):
        sigv4.verify_presigned_url(
            default.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "k"}), SECRET, now=now()
        )
    post = default.generate_presigned_post(BUCKET, "k")
    with pytest.raises(sigv4.SignatureInvalid, match="Signature Version 2"):
        sigv4.verify_post(post["url"], post["fields"], SECRET, now=now())
    legacy = ObjectStore(default, BUCKET, KEY_ARN)
    with pytest.raises(PresignNotSigV4):
        legacy.presigned_get("k")
    with pytest.raises(PresignNotSigV4):
        legacy.presigned_post("k", "image/png", 10)


def test_a_sigv4_client_on_the_global_us_east_1_endpoint_is_refused_too() -> None:
    from botocore.config import Config

    global_endpoint = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )
    assert global_endpoint.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "k"}).startswith(
        f"https://{BUCKET}.s3.amazonaws.com/"
    )
    assert not signs_v4_regionally(global_endpoint)


def test_the_local_endpoint_keeps_working_through_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    local = store("us-east-1")
    url = local.presigned_get("renditions/x/thumb.jpg")
    assert url.startswith(f"http://127.0.0.1:4566/{BUCKET}/renditions/x/thumb.jpg?")
    assert sigv4.verify_presigned_url(url, SECRET, now=now(), region="us-east-1").host == "127.0.0.1:4566"
