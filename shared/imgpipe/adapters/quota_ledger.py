"""The quota counters of imgpipe.quotas in DynamoDB: one item per tenant and window, incremented only when the
result stays within the limit (condition and increment in one request, so concurrent requests never overshoot)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from imgpipe.quotas import QuotaExceeded, QuotaPolicy, Reservation

KEY_ATTRIBUTE = "id"  # the idempotency table's key and TTL attributes (Powertools' defaults)
TTL_ATTRIBUTE = "expiration"


def _next_minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


def _next_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _seconds_until(when: datetime, now: datetime) -> int:
    return int((when - now).total_seconds() + 0.999)


class QuotaLedger:
    def __init__(self, client: Any, table_name: str, policy: QuotaPolicy) -> None:
        self._client = client
        self._table = table_name
        self._policy = policy

    def _increment(
        self, key: str, expires: datetime, adds: dict[str, int], condition: str, values: dict[str, int]
    ) -> bool:
        names = {f"#{name}": name for name in adds} | {"#ttl": TTL_ATTRIBUTE}
        expression = "ADD " + ", ".join(f"#{name} :{name}" for name in adds) + " SET #ttl = :ttl"
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": key}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    **{f":{name}": {"N": str(value)} for name, value in adds.items()},
                    **{f":{name}": {"N": str(value)} for name, value in values.items()},
                    # A window's counter outlives it by a day: long enough for nobody to reuse it, then gone.
                    ":ttl": {"N": str(int((expires + timedelta(days=1)).timestamp()))},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def count_request(self, tenant_id: str, now: datetime) -> None:
        limit = self._policy.for_tenant(tenant_id).requests_per_minute
        window = now.astimezone(UTC)
        ends = _next_minute(window)
        key = f"quota#rate#{tenant_id}#{window:%Y%m%dT%H%M}"
        if not self._increment(key, ends, {"requests": 1}, "attribute_not_exists(#requests) OR #requests < :limit",
                               {"limit": limit}):  # fmt: skip
            raise QuotaExceeded(
                "rate_limited",
                f"this tenant's limit of {limit} requests per minute is reached",
                _seconds_until(ends, window),
            )

    def reserve_upload(self, tenant_id: str, size_bytes: int, now: datetime) -> Reservation:
        limits = self._policy.for_tenant(tenant_id)
        day = now.astimezone(UTC)
        ends = _next_day(day)
        key = f"quota#day#{tenant_id}#{day:%Y-%m-%d}"
        room = limits.bytes_per_day - size_bytes
        allowed = room >= 0 and self._increment(
            key,
            ends,
            {"uploads": 1, "bytes": size_bytes},
            "attribute_not_exists(#uploads) OR (#uploads < :max_uploads AND #bytes <= :room)",
            {"max_uploads": limits.uploads_per_day, "room": room},
        )
        if not allowed:
            raise QuotaExceeded(
                "quota_exceeded",
                f"this tenant's daily upload quota ({limits.uploads_per_day} uploads, {limits.bytes_per_day} bytes) "
                "is used up until midnight UTC",
                _seconds_until(ends, day),
            )
        return Reservation(key, size_bytes)

    def release(self, reservation: Reservation) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={KEY_ATTRIBUTE: {"S": reservation.key}},
            UpdateExpression="ADD #uploads :minus_one, #bytes :minus_size",
            ConditionExpression="attribute_exists(#uploads)",
            ExpressionAttributeNames={"#uploads": "uploads", "#bytes": "bytes"},
            ExpressionAttributeValues={":minus_one": {"N": "-1"}, ":minus_size": {"N": str(-reservation.size_bytes)}},
        )
