"""Which image a request (an Idempotency-Key, a Kafka record's dedup key) stands for, written before any of its
data: a retry, whatever moment the first attempt died at, finds the claim and converges on the same image id
(same object key, same item) instead of storing a second image.

Powertools' idempotency record cannot do this alone: it is IN_PROGRESS until the first attempt returns, and
once that expires (a Lambda timeout or out-of-memory between two writes) a retry runs the request again from
scratch. The claim survives it: it is written first, conditionally, and only ever read afterwards.

Kept in the function's idempotency table (key `id`, TTL `expiration`, both Powertools' defaults) under
`claim#<scope>#<SHA-256 of the request key>`, so it shares the table's encryption, TTL and IAM.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

KEY_ATTRIBUTE = "id"
TTL_ATTRIBUTE = "expiration"


@dataclass(frozen=True)
class Claim:
    image_id: str
    fingerprint: str  # what the request carried (a SHA-256 of its bytes): the same key with other bytes conflicts
    created_at: datetime  # the first attempt's time: the image's object key and item are derived from it
    fresh: bool  # True: this call wrote it (first attempt); False: an earlier attempt did


class RequestClaims:
    def __init__(self, client: Any, table_name: str, scope: str, lifetime: timedelta) -> None:
        self._client = client
        self._table = table_name
        self._scope = scope
        self._lifetime = lifetime

    def _key(self, request_key: str) -> str:
        return f"claim#{self._scope}#{hashlib.sha256(request_key.encode()).hexdigest()}"

    def find(self, request_key: str, now: datetime) -> Claim | None:
        """The live claim of `request_key`, if any (read only)."""
        found = self._client.get_item(
            TableName=self._table, Key={KEY_ATTRIBUTE: {"S": self._key(request_key)}}, ConsistentRead=True
        )
        item = found.get("Item")
        if not item or int(item[TTL_ATTRIBUTE]["N"]) < int(now.timestamp()):
            return None
        return _claim_of(item)

    def claim(self, request_key: str, image_id: str, fingerprint: str, now: datetime) -> Claim:
        """The claim of `request_key`: this one (image_id, now) if none is live, else the earlier one."""
        key = self._key(request_key)
        created = now.astimezone(UTC)
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    KEY_ATTRIBUTE: {"S": key},
                    "image_id": {"S": image_id},
                    "fingerprint": {"S": fingerprint},
                    "created_at": {"S": created.isoformat()},
                    TTL_ATTRIBUTE: {"N": str(int((created + self._lifetime).timestamp()))},
                },
                # TTL deletes lazily: an expired claim is no claim.
                ConditionExpression="attribute_not_exists(#id) OR #ttl < :now",
                ExpressionAttributeNames={"#id": KEY_ATTRIBUTE, "#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":now": {"N": str(int(created.timestamp()))}},
            )
            return Claim(image_id, fingerprint, created, fresh=True)
        except self._client.exceptions.ConditionalCheckFailedException:
            pass
        found = self._client.get_item(TableName=self._table, Key={KEY_ATTRIBUTE: {"S": key}}, ConsistentRead=True)
        return _claim_of(found["Item"])  # it existed a moment ago, and claims are never deleted before their TTL


def _claim_of(item: dict[str, Any]) -> Claim:
    return Claim(
        item["image_id"]["S"], item["fingerprint"]["S"], datetime.fromisoformat(item["created_at"]["S"]), fresh=False
    )
