"""Pagination cursors: a client gets back exactly the position it was given, for its own tenant and query, within
the cursor's lifetime — and anything else, forged or foreign, is one InvalidCursor. The MAC is KMS's in the
deployed API (adapters.mac, checked here against the emulator's KMS too)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgpipe.adapters.mac import KmsMac
from imgpipe.cursors import CursorCodec, InvalidCursor, query_fingerprint

KEY = b"k" * 32
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
POSITION = {
    "image_id": {"S": "01936f2e-0000-7000-8000-000000000001"},
    "tenant_status": {"S": "team-a#PROCESSED"},
    "created_at": {"S": "2026-12-02T07:59:00.000Z"},
}


def local_codec(key: bytes = KEY) -> CursorCodec:
    def sign(message: bytes) -> bytes:
        return hmac.new(key, message, hashlib.sha256).digest()

    return CursorCodec(sign, lambda message, mac: hmac.compare_digest(sign(message), mac))


QUERY = query_fingerprint(status="PROCESSED", since=None)


def test_a_cursor_gives_back_its_position_to_its_tenant_and_query() -> None:
    codec = local_codec()
    cursor = codec.encode(POSITION, "team-a", QUERY, NOW)
    assert codec.decode(cursor, "team-a", QUERY, NOW + timedelta(minutes=59)) == POSITION


@pytest.mark.parametrize(
    ("tenant", "query", "later"),
    [
        ("team-b", QUERY, 0),  # another tenant's cursor
        ("team-a", query_fingerprint(status="REJECTED", since=None), 0),  # another listing's
        ("team-a", query_fingerprint(status="PROCESSED", since="2026-12-01T00:00:00.000Z"), 0),
        ("team-a", QUERY, 3601),  # expired
    ],
)
def test_a_cursor_of_another_tenant_query_or_time_is_refused(tenant: str, query: str, later: int) -> None:
    codec = local_codec()
    cursor = codec.encode(POSITION, "team-a", QUERY, NOW)
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, tenant, query, NOW + timedelta(seconds=later))


def test_a_cursor_whose_position_was_rewritten_is_refused() -> None:
    codec = local_codec()
    body, mac = codec.encode(POSITION, "team-a", QUERY, NOW).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["t"] = "team-b"  # the attack: someone else's partition with a valid-looking cursor
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    with pytest.raises(InvalidCursor):
        codec.decode(f"{forged}.{mac}", "team-b", QUERY, NOW)
    with pytest.raises(InvalidCursor):  # signed by another key
        codec.decode(local_codec(b"x" * 32).encode(POSITION, "team-a", QUERY, NOW), "team-a", QUERY, NOW)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_string_is_a_cursor_or_one_invalid_cursor(text: str) -> None:
    codec = local_codec()
    with pytest.raises(InvalidCursor):
        codec.decode(text, "team-a", QUERY, NOW)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=200), st.binary(min_size=1, max_size=1))
def test_a_single_flipped_byte_anywhere_is_refused(position: int, byte: bytes) -> None:
    codec = local_codec()
    cursor = codec.encode(POSITION, "team-a", QUERY, NOW)
    index = position % len(cursor)
    flipped = cursor[:index] + chr((ord(cursor[index]) + 1 + byte[0] % 5) % 128) + cursor[index + 1 :]
    if flipped == cursor:
        return
    try:
        decoded = codec.decode(flipped, "team-a", QUERY, NOW)
    except InvalidCursor:
        return
    assert decoded == POSITION  # base64 padding bits: a different spelling of the same bytes


def test_the_kms_mac_signs_and_verifies_on_the_emulator(offline_aws: None) -> None:
    kms = boto3.client("kms")
    key = kms.create_key(KeyUsage="GENERATE_VERIFY_MAC", KeySpec="HMAC_256")["KeyMetadata"]["KeyId"]
    mac = KmsMac(kms, key)
    codec = CursorCodec(mac.sign, mac.verify)
    cursor = codec.encode(POSITION, "team-a", QUERY, NOW)
    assert codec.decode(cursor, "team-a", QUERY, NOW) == POSITION
    assert not mac.verify(b"other message", mac.sign(b"message"))
