"""The retention rule in one place: image-derived data lives at most `retention_days` (1..7) days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MAX_RETENTION_DAYS = 7
DEFAULT_RETENTION_DAYS = 7


def check_retention_days(days: int) -> int:
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValueError(f"retention_days must be between 1 and {MAX_RETENTION_DAYS}, got {days}")
    return days


def expires_at(created: datetime, retention_days: int = DEFAULT_RETENTION_DAYS) -> int:
    """Epoch seconds at which an item created at `created` must be treated as gone (DynamoDB TTL format)."""
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    return int((created + timedelta(days=check_retention_days(retention_days))).timestamp())


def is_expired(expires_at_epoch: int, now: datetime | None = None) -> bool:
    """TTL deletes up to ~2 days late, so every read path asks this instead of trusting existence."""
    now = now or datetime.now(UTC)
    return expires_at_epoch <= int(now.timestamp())
