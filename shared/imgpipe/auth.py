"""API keys: issued once in plaintext, stored only as peppered digests, checked in constant time.

A key reads `imgpipe_<key_id>_<secret>`: the key id (not secret) finds the record without scanning, the
32-byte random secret is what proves possession. Each key is issued for a tenant (by default its own id): every
image it stores belongs to that tenant, and it sees that tenant's images only.

The record holds HMAC-SHA256(pepper, SHA-256(secret)): keys are high-entropy, so a fast digest is enough (a slow
password hash protects guessable secrets, which these are not), and the pepper, kept in Secrets Manager apart
from the records, makes a copy of the records alone worthless. Digesting the SHA-256 (not the secret) lets the
unpeppered records of earlier releases be migrated without their keys. The same code runs in the Lambda
authorizer on AWS and in the local API gateway, so local tests exercise the real check.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

KEY_PREFIX = "imgpipe"
_KEY = re.compile(r"^imgpipe_(?P<key_id>[a-z0-9][a-z0-9-]{0,62})_(?P<secret>[A-Za-z0-9_-]{43})$")
_KEY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# Tenant ids go into object keys and index keys: lowercase letters, digits, hyphens (a Cognito sub fits).
_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def is_tenant_id(value: object) -> bool:
    return isinstance(value, str) and _TENANT_ID.fullmatch(value) is not None


class AuthFailure(StrEnum):
    MISSING = "missing_credentials"
    MALFORMED = "malformed_credentials"
    INVALID = "invalid_credentials"  # unknown key id or wrong secret: indistinguishable on purpose
    REVOKED = "revoked_credentials"
    AMBIGUOUS = "ambiguous_credentials"  # two credentials in one request: which one speaks is never guessed

    @property
    def http_status(self) -> int:
        return 403 if self is AuthFailure.REVOKED else 401


class AuthError(Exception):
    def __init__(self, failure: AuthFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    digest: str  # HMAC-SHA256(pepper, SHA-256(secret)), hex
    owner: str
    revoked: bool = False
    tenant: str = ""  # "" reads as the key's own id (keys issued before tenants existed)

    @property
    def tenant_id(self) -> str:
        return self.tenant or self.key_id

    def __post_init__(self) -> None:
        if not _KEY_ID.match(self.key_id) or not re.fullmatch(r"[0-9a-f]{64}", self.digest):
            raise ValueError(f"malformed key record {self.key_id[:64]!r}")
        if not is_tenant_id(self.tenant_id):
            raise ValueError(f"key record {self.key_id[:64]!r} names no valid tenant")


@dataclass(frozen=True)
class LegacyRecord:
    """A record of the registry document of earlier releases: an unpeppered SHA-256 of the secret."""

    key_id: str
    sha256: str
    owner: str
    revoked: bool
    tenant: str

    def peppered(self, pepper: bytes) -> KeyRecord:
        return KeyRecord(self.key_id, _pepper(self.sha256, pepper), self.owner, self.revoked, self.tenant)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the credential (`key_id`), who holds it, and the tenant whose images it reaches."""

    key_id: str
    owner: str
    tenant_id: str
    kind: str = "api_key"


def _pepper(sha256_hex: str, pepper: bytes) -> str:
    return hmac.new(pepper, sha256_hex.encode(), hashlib.sha256).hexdigest()


def key_digest(secret: str, pepper: bytes) -> str:
    return _pepper(hashlib.sha256(secret.encode()).hexdigest(), pepper)


def issue_key(key_id: str, owner: str, tenant: str | None, pepper: bytes) -> tuple[str, KeyRecord]:
    """A new key for `tenant` (default: its own id): the plaintext goes to its holder once; only the record is
    ever stored."""
    if not _KEY_ID.match(key_id):
        raise ValueError("key_id must be 1-63 lowercase letters, digits or hyphens")
    if tenant is not None and not is_tenant_id(tenant):
        raise ValueError("tenant must be 1-63 lowercase letters, digits or hyphens")
    if len(pepper) < 32:
        raise ValueError("the pepper must be at least 32 bytes")
    secret = secrets.token_urlsafe(32)  # 43 characters
    record = KeyRecord(key_id, key_digest(secret, pepper), owner, tenant=tenant or key_id)
    return f"{KEY_PREFIX}_{key_id}_{secret}", record


def parse_legacy_registry(document: Mapping[str, Any]) -> list[LegacyRecord]:
    """The registry document of earlier releases: {"keys": [{key_id, sha256, owner, revoked, tenant}, ...]}."""
    records = []
    for raw in document.get("keys", []):
        record = LegacyRecord(
            str(raw["key_id"]),
            str(raw["sha256"]).lower(),
            str(raw["owner"]),
            bool(raw.get("revoked")),
            str(raw.get("tenant") or raw["key_id"]),
        )
        if not _KEY_ID.match(record.key_id) or not re.fullmatch(r"[0-9a-f]{64}", record.sha256):
            raise ValueError(f"malformed key record {record.key_id[:64]!r} in the registry")
        records.append(record)
    return records


def key_id_of(header_value: str | None) -> str | None:
    """The key id a well-formed key names (not proof of anything), to look the key up before checking it."""
    value = (header_value or "").strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    match = _KEY.match(value)
    return match["key_id"] if match else None


@dataclass(frozen=True)
class Credential:
    """What a request presents: an API key, or a bearer token (a Cognito access token) — not yet checked."""

    kind: str  # "api_key" | "bearer_token"
    value: str


def credential_of(api_key_header: str | None, authorization_header: str | None) -> Credential:
    """The one credential of a request: `x-api-key: <key>`, `Authorization: Bearer <key>` or
    `Authorization: Bearer <access token>`. Both headers at once are refused, whatever they hold."""
    api_key = (api_key_header or "").strip()
    authorization = (authorization_header or "").strip()
    if api_key and authorization:
        raise AuthError(AuthFailure.AMBIGUOUS)
    if api_key:
        return Credential("api_key", api_key)
    if not authorization:
        raise AuthError(AuthFailure.MISSING)
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value:
        raise AuthError(AuthFailure.MALFORMED)
    return Credential("api_key" if _KEY.match(value) else "bearer_token", value)


def authenticate(header_value: str | None, registry: Mapping[str, KeyRecord], pepper: bytes) -> Principal:
    """Checks an `x-api-key` header value (or `Authorization: Bearer <key>`); raises AuthError otherwise."""
    if header_value is None or not header_value.strip():
        raise AuthError(AuthFailure.MISSING)
    value = header_value.strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    match = _KEY.match(value)
    if not match:
        raise AuthError(AuthFailure.MALFORMED)
    record = registry.get(match["key_id"])
    # Compare against a dummy digest for unknown ids too, so response time says nothing about which ids exist.
    expected = record.digest if record else key_digest("", pepper)
    if not hmac.compare_digest(key_digest(match["secret"], pepper), expected) or record is None:
        raise AuthError(AuthFailure.INVALID)
    if record.revoked:
        raise AuthError(AuthFailure.REVOKED)
    return Principal(record.key_id, record.owner, record.tenant_id)
