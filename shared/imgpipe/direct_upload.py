"""A direct upload (PUT /v1/images) as the API receives it, before the use case runs: its bytes, and what makes
a retry safe — the caller's Idempotency-Key, checked, and a fingerprint of everything the request carried, so
that a retry (same key, same fingerprint) replays the first answer and the same key with anything else is
refused (docs/api.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from imgpipe.api_error import ApiError

IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII: safe to hash, log and compare


def body_bytes(body: str | None, is_base64_encoded: bool) -> bytes:
    """API Gateway's body: base64 for a binary media type, text (bytes up to U+00FF kept) otherwise."""
    raw = body or ""
    if not is_base64_encoded:
        return raw.encode("latin-1", "replace")
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error:
        raise ApiError(400, "invalid_body", "the body is marked base64 but is not valid base64") from None


def idempotency_key(value: str | None) -> str | None:
    if value is not None and not _IDEMPOTENCY_KEY.fullmatch(value):
        raise ApiError(400, "invalid_request", f"{IDEMPOTENCY_HEADER} must be 1-255 visible ASCII characters")
    return value


def fingerprint(data: bytes, content_type: str | None, filename: str | None) -> str:
    """SHA-256 of what decides the stored image: its bytes, declared type and name (NUL-separated, which
    none of the three header values can contain, so no two requests share one)."""
    return hashlib.sha256(b"\0".join([data, (content_type or "").encode(), (filename or "").encode()])).hexdigest()


@dataclass(frozen=True)
class DirectUpload:
    data: bytes
    content_type: str | None
    filename: str | None
    idempotency_key: str | None

    @classmethod
    def parse(
        cls,
        body: str | None,
        is_base64_encoded: bool,
        content_type: str | None,
        filename: str | None,
        idempotency_key_header: str | None,
    ) -> DirectUpload:
        """400 for a body that is not what it claims or a key that is not 1-255 visible ASCII characters."""
        data = body_bytes(body, is_base64_encoded)
        return cls(data, content_type, filename, idempotency_key(idempotency_key_header))

    def idempotency_request(self, tenant_id: str) -> dict[str, str]:
        """What Powertools keys a request on (the tenant and its key: one tenant's key never replays another's
        answer) and validates a repeat against (the fingerprint). Only for a request with a key."""
        if self.idempotency_key is None:
            raise ValueError("a request without an Idempotency-Key has no idempotency request")
        return {
            "tenant_id": tenant_id,
            "idempotency_key": self.idempotency_key,
            "body_sha256": fingerprint(self.data, self.content_type, self.filename),
        }
