"""Pagination cursors a client cannot forge, reuse for another tenant or another query, or keep forever.

A cursor is the listing's position (the index key DynamoDB returned), the tenant and the query it belongs to,
and its expiry, authenticated with a MAC whose key never leaves KMS (adapters.mac). Anything else — tampered,
truncated, signed by another key, another tenant's, another query's, expired — is one `InvalidCursor`, which
the API answers 400 invalid_cursor without saying which.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CURSOR_VERSION = 1
DEFAULT_TTL_SECONDS = 3600


class InvalidCursor(ValueError):
    """Not a cursor this API issued for this tenant and this query, or one past its lifetime."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def query_fingerprint(**query: Any) -> str:
    """What a cursor is bound to besides its tenant: the listing's parameters (limit aside)."""
    return hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CursorCodec:
    sign: Callable[[bytes], bytes]
    verify: Callable[[bytes, bytes], bool]
    ttl_seconds: int = DEFAULT_TTL_SECONDS

    def encode(self, position: dict[str, Any], tenant_id: str, query: str, now: datetime) -> str:
        payload = json.dumps(
            {
                "v": CURSOR_VERSION,
                "p": position,
                "t": tenant_id,
                "q": query,
                "e": int(now.timestamp()) + self.ttl_seconds,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self.sign(payload))}"

    def decode(self, cursor: str, tenant_id: str, query: str, now: datetime) -> dict[str, Any]:
        """The position `cursor` holds, if this API issued it for `tenant_id` and `query` and it is still live."""
        body, _, mac = cursor.partition(".")
        try:
            payload, signature = _unb64(body), _unb64(mac)
        except (binascii.Error, ValueError):
            raise InvalidCursor("not a cursor") from None
        if not body or not signature or len(cursor) > 4096 or not self.verify(payload, signature):
            raise InvalidCursor("not a cursor this API issued")
        try:
            fields = json.loads(payload)
        except ValueError:
            raise InvalidCursor("not a cursor") from None
        if not isinstance(fields, dict) or fields.get("v") != CURSOR_VERSION or not isinstance(fields.get("p"), dict):
            raise InvalidCursor("not a cursor of this version")
        if fields.get("t") != tenant_id or fields.get("q") != query:
            raise InvalidCursor("a cursor of another listing")
        if not isinstance(fields.get("e"), int) or fields["e"] < now.timestamp():
            raise InvalidCursor("an expired cursor")
        position: dict[str, Any] = fields["p"]
        return position
