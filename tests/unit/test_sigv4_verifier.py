"""The independent SigV4 verifier (tests/sigv4.py) is itself right: it reproduces the signatures AWS publishes in
its S3 documentation, and it refuses what S3 would refuse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests import sigv4

# AWS's example credentials and examples: S3 API reference, "Authenticating Requests: Using Query Parameters"
# (GET examplebucket/test.txt) and "Example: Browser-Based Upload using HTTP POST".
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOCUMENTED_URL = (
    "https://examplebucket.s3.amazonaws.com/test.txt"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
)
DOCUMENTED_POLICY = (
    "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2"
    "NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMt"
    "cmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29t"
    "L3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4"
    "LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0s"
    "DQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZP"
    "RE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1B"
    "Qy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
)
DOCUMENTED_FORM = {
    "key": "user/user1/photo.jpg",
    "acl": "public-read",
    "success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
    "Content-Type": "image/jpeg",
    "x-amz-meta-uuid": "14365123651274",
    "x-amz-server-side-encryption": "AES256",
    "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Date": "20151229T000000Z",
    "x-amz-meta-tag": "",
    "Policy": DOCUMENTED_POLICY,
    "X-Amz-Signature": "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e",
}
URL_NOW = datetime(2013, 5, 24, 0, 0, 1, tzinfo=UTC)
POST_NOW = datetime(2015, 12, 29, 1, 0, tzinfo=UTC)


def test_reproduces_the_documented_presigned_url_signature() -> None:
    verified = sigv4.verify_presigned_url(DOCUMENTED_URL, EXAMPLE_SECRET, now=URL_NOW, region="us-east-1")
    assert verified.host == "examplebucket.s3.amazonaws.com" and verified.bucket_key == "test.txt"
    assert (verified.scope.region, verified.scope.service, verified.expires_in) == ("us-east-1", "s3", 86400)


def test_reproduces_the_documented_post_policy_signature() -> None:
    verified = sigv4.verify_post(
        "https://sigv4examplebucket.s3.amazonaws.com/", DOCUMENTED_FORM, EXAMPLE_SECRET, now=POST_NOW
    )
    assert {"bucket": "sigv4examplebucket"} in verified.conditions
    assert sigv4.post_accepts(verified, "sigv4examplebucket", DOCUMENTED_FORM, 1000) is None


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda u: u.replace("test.txt", "other.txt"), "does not match"),
        (lambda u: u.replace("X-Amz-Expires=86400", "X-Amz-Expires=86401"), "does not match"),
        (lambda u: u.replace("us-east-1", "eu-west-1"), "region"),
        (lambda u: u.replace("aeeed9bb", "aeeed9bc"), "does not match"),
        (lambda u: u.replace("examplebucket.s3.amazonaws.com", "examplebucket.s3.us-east-1.amazonaws.com"), "match"),
        (lambda u: u.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%3Bx-amz-acl"), "plain client"),
        (lambda u: u.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"), "X-Amz-Algorithm"),
    ],
)
def test_a_changed_url_is_refused(mutate: object, reason: str) -> None:
    with pytest.raises(sigv4.SignatureInvalid, match=reason):
        sigv4.verify_presigned_url(mutate(DOCUMENTED_URL), EXAMPLE_SECRET, now=URL_NOW, region="us-east-1")  # type: ignore[operator]


def test_an_expired_url_another_secret_and_a_sigv2_url_are_refused() -> None:
    with pytest.raises(sigv4.SignatureInvalid, match="expired"):
        sigv4.verify_presigned_url(DOCUMENTED_URL, EXAMPLE_SECRET, now=datetime(2013, 5, 25, 0, 0, 1, tzinfo=UTC))
    with pytest.raises(sigv4.SignatureInvalid, match="does not match"):
        sigv4.verify_presigned_url(DOCUMENTED_URL, EXAMPLE_SECRET + "x", now=URL_NOW)
    sigv2 = "https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKID&Signature=abc%3D&Expires=1796177739"
    with pytest.raises(sigv4.SignatureInvalid, match="Signature Version 2"):
        sigv4.verify_presigned_url(sigv2, EXAMPLE_SECRET, now=URL_NOW)


def test_a_changed_form_is_refused() -> None:
    url = "https://sigv4examplebucket.s3.amazonaws.com/"
    with pytest.raises(sigv4.SignatureInvalid, match="does not sign"):
        sigv4.verify_post(url, {**DOCUMENTED_FORM, "X-Amz-Signature": "0" * 64}, EXAMPLE_SECRET, now=POST_NOW)
    with pytest.raises(sigv4.SignatureInvalid, match="expired"):
        sigv4.verify_post(url, DOCUMENTED_FORM, EXAMPLE_SECRET, now=datetime(2015, 12, 31, tzinfo=UTC))
    with pytest.raises(sigv4.SignatureInvalid, match="not allowed"):
        sigv4.verify_post(url, {**DOCUMENTED_FORM, "x-amz-meta-extra": "1"}, EXAMPLE_SECRET, now=POST_NOW)
    with pytest.raises(sigv4.SignatureInvalid, match="Signature Version 2"):
        sigv4.verify_post(url, {"AWSAccessKeyId": "A", "signature": "s", "policy": "e30="}, "x", now=POST_NOW)


def test_post_accepts_plays_s3s_part_for_a_submitted_form() -> None:
    verified = sigv4.verify_post(
        "https://sigv4examplebucket.s3.amazonaws.com/", DOCUMENTED_FORM, EXAMPLE_SECRET, now=POST_NOW
    )
    assert "key" in str(sigv4.post_accepts(verified, "sigv4examplebucket", {**DOCUMENTED_FORM, "key": "x/y"}, 10))
    assert "bucket" in str(sigv4.post_accepts(verified, "otherbucket", DOCUMENTED_FORM, 10))
    refused = sigv4.post_accepts(verified, "sigv4examplebucket", {**DOCUMENTED_FORM, "Content-Type": "text/html"}, 1)
    assert refused and "Content-Type" in refused
