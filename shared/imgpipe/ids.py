"""Server-generated image ids: UUIDv7 (RFC 9562), so ids sort by creation time and never come from clients."""

from __future__ import annotations

import re
import secrets
import time
import uuid

_UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def new_image_id(now_ms: int | None = None) -> str:
    """A UUIDv7: 48-bit Unix milliseconds, version 7, 74 random bits (Python 3.11 has no uuid.uuid7)."""
    millis = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    if not 0 <= millis < 1 << 48:
        raise ValueError("timestamp out of UUIDv7 range")
    value = (millis << 80) | (0x7 << 76) | (secrets.randbits(12) << 64) | (0b10 << 62) | secrets.randbits(62)
    return str(uuid.UUID(int=value))


def is_image_id(candidate: str) -> bool:
    """True for the canonical lowercase UUIDv7 text form this service issues; used to refuse anything else."""
    return bool(_UUID7.match(candidate))


def id_timestamp_ms(image_id: str) -> int:
    if not is_image_id(image_id):
        raise ValueError(f"not an image id: {image_id[:40]!r}")
    return uuid.UUID(image_id).int >> 80
