"""Per-tenant quotas: requests per minute and uploads (count and bytes) per UTC day, enforced with conditional
DynamoDB updates so that concurrent requests of one tenant can never overshoot a limit.

Each window is one counter item (`quota#rate#<tenant>#<minute>`, `quota#day#<tenant>#<date>`) in the API's state
table next to its idempotency records, expiring with the table's TTL after its window. An increment is applied
only if the result stays within the limit (the condition and the increment are one atomic request); a refusal
changes nothing and tells the caller when the window ends (`Retry-After`). An upload counts when it is accepted
(a direct PUT after validation, a presigned POST when the form is handed out) and is given back if storing it
fails, so refused and failed uploads cost nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from imgpipe.auth import is_tenant_id


@dataclass(frozen=True)
class Limits:
    uploads_per_day: int = 10_000
    bytes_per_day: int = 10 * 1024**3
    requests_per_minute: int = 600

    def __post_init__(self) -> None:
        for name in ("uploads_per_day", "bytes_per_day", "requests_per_minute"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1")


@dataclass(frozen=True)
class QuotaPolicy:
    default: Limits = field(default_factory=Limits)
    tenants: Mapping[str, Limits] = field(default_factory=dict)

    def for_tenant(self, tenant_id: str) -> Limits:
        return self.tenants.get(tenant_id, self.default)

    @classmethod
    def from_json(cls, text: str | None) -> QuotaPolicy:
        """{"default": {...}, "tenants": {"<tenant>": {...}}}, as Terraform writes QUOTAS; a bad document fails at
        cold start (ValueError), never per request."""
        if not text:
            return cls()
        document = json.loads(text)
        if not isinstance(document, dict) or set(document) - {"default", "tenants"}:
            raise ValueError("QUOTAS must be an object with only 'default' and 'tenants'")

        def limits(raw: Any) -> Limits:
            if not isinstance(raw, dict) or set(raw) - {"uploads_per_day", "bytes_per_day", "requests_per_minute"}:
                raise ValueError(f"quota limits must be an object of known limits, not {raw!r:.80}")
            return Limits(**raw)

        default = limits(document.get("default") or {})
        tenants = {}
        for tenant, raw in (document.get("tenants") or {}).items():
            if not is_tenant_id(tenant):
                raise ValueError(f"quota tenant {tenant!r:.80} is not a tenant id")
            tenants[tenant] = limits({**{k: getattr(default, k) for k in ("uploads_per_day", "bytes_per_day",
                                                                           "requests_per_minute")}, **raw})  # fmt: skip
        return cls(default, tenants)


class QuotaExceeded(Exception):
    """A limit of the caller's tenant is reached: 429 with Retry-After; nothing was counted or stored."""

    def __init__(self, code: str, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_seconds = max(1, retry_after_seconds)


@dataclass(frozen=True)
class Reservation:
    """One upload counted against its day: given back with QuotaLedger.release if it is not stored after all."""

    key: str
    size_bytes: int
