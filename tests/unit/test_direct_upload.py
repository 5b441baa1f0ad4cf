"""imgpipe.direct_upload: a PUT /v1/images request's bytes, its Idempotency-Key and the fingerprint that tells a
retry (replayed) from the same key reused for another upload (refused)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgpipe.direct_upload import DirectUpload, body_bytes, fingerprint, idempotency_key
from imgpipe.uploads import ApiError


def test_a_base64_body_is_decoded_and_a_text_body_kept_byte_for_byte() -> None:
    assert body_bytes(base64.b64encode(b"\x89PNG\x00").decode(), True) == b"\x89PNG\x00"
    assert body_bytes("caf\u00e9", False) == b"caf\xe9"
    assert body_bytes(None, False) == b"" and body_bytes(None, True) == b""


def test_a_body_marked_base64_that_is_not_is_refused() -> None:
    with pytest.raises(ApiError) as refused:
        body_bytes("not base64!", True)
    assert (refused.value.status, refused.value.code) == (400, "invalid_body")


@pytest.mark.parametrize("key", ["", "with space", "tab\t", "\u00e9", "x" * 256])
def test_a_key_that_is_not_1_to_255_visible_ascii_characters_is_refused(key: str) -> None:
    with pytest.raises(ApiError) as refused:
        idempotency_key(key)
    assert (refused.value.status, refused.value.code) == (400, "invalid_request")
    assert "Idempotency-Key" in refused.value.message


def test_a_missing_key_is_no_key_and_a_visible_one_is_kept() -> None:
    assert idempotency_key(None) is None
    assert idempotency_key("order-42/retry:1") == "order-42/retry:1"
    assert idempotency_key("~" * 255) == "~" * 255


def test_the_fingerprint_is_the_sha256_of_bytes_type_and_name() -> None:
    assert fingerprint(b"img", "image/png", "a.png") == hashlib.sha256(b"img\0image/png\0a.png").hexdigest()
    assert fingerprint(b"img", None, None) == fingerprint(b"img", "", "")


@given(st.binary(max_size=64), st.text(max_size=8), st.text(max_size=8), st.text(max_size=8))
def test_requests_that_differ_in_anything_stored_differ_in_fingerprint(
    data: bytes, content_type: str, filename: str, other: str
) -> None:
    base = fingerprint(data, content_type, filename)
    assert fingerprint(data, content_type, filename) == base  # a retry is recognised
    if other != content_type and "\0" not in other + content_type + filename:
        assert fingerprint(data, other, filename) != base
    if other != filename and "\0" not in other + content_type + filename:
        assert fingerprint(data, content_type, other) != base
    assert fingerprint(data + b"x", content_type, filename) != base


def test_the_idempotency_request_keys_on_the_tenant_and_validates_the_fingerprint() -> None:
    upload = DirectUpload.parse(base64.b64encode(b"img").decode(), True, "image/png", "a.png", "k-1")
    request = upload.idempotency_request("team-a")
    assert request == {
        "tenant_id": "team-a",
        "idempotency_key": "k-1",
        "body_sha256": fingerprint(b"img", "image/png", "a.png"),
    }
    assert upload.idempotency_request("team-b")["tenant_id"] == "team-b"  # one tenant's key is not another's


def test_the_body_is_checked_before_the_key_and_a_keyless_upload_has_no_idempotency_request() -> None:
    with pytest.raises(ApiError) as refused:
        DirectUpload.parse("!!", True, None, None, "bad key")
    assert refused.value.code == "invalid_body"
    upload = DirectUpload.parse("abc", False, None, None, None)
    assert (upload.data, upload.idempotency_key) == (b"abc", None)
    with pytest.raises(ValueError, match="Idempotency-Key"):
        upload.idempotency_request("team-a")
