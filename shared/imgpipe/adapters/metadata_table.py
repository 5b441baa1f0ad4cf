"""DynamoDB adapter for image metadata: conditional writes only, and reads that honour expires_at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from imgpipe.models import ImageItem, ImageStatus, sources_of, tenant_status

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
MAX_PAGE = 100


class ItemExists(Exception):
    """put_new found an item with that id already (a replay, or an id collision)."""


class TransitionRefused(Exception):
    """The item is missing, expired, or not in a state from which the requested status may be reached."""


def _to_attrs(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZER.serialize(v) for k, v in values.items()}


def _from_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    values = {k: _DESERIALIZER.deserialize(v) for k, v in attrs.items()}
    # DynamoDB numbers come back as Decimal; the model's ints are whole numbers.
    return {k: int(v) if type(v).__name__ == "Decimal" else v for k, v in values.items()}


class MetadataTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put_new(self, item: ImageItem) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_to_attrs(item.to_record()),
                ConditionExpression="attribute_not_exists(image_id)",
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ItemExists(item.image_id) from None
            raise

    def get(self, image_id: str, now: datetime | None = None) -> ImageItem | None:
        """The item, or None when it does not exist or has expired (TTL may not have deleted it yet)."""
        response = self._client.get_item(
            TableName=self._table, Key=_to_attrs({"image_id": image_id}), ConsistentRead=True
        )
        attrs = response.get("Item")
        if not attrs:
            return None
        item = ImageItem.model_validate(_from_attrs(attrs))
        return None if item.is_expired(now) else item

    def transition(
        self,
        image_id: str,
        to: ImageStatus,
        now: datetime | None = None,
        *,
        tenant_id: str | None = None,
        pin_version: str | None = None,
        **updates: Any,
    ) -> ImageItem:
        """Moves the item to `to` only from a state that may precede it, and only while it has not expired.
        `tenant_id` (the item's) keeps its by_tenant_status key in step with the new status. `pin_version`
        records the raw object's version, refused when another version is recorded already."""
        if tenant_id:
            updates["tenant_status"] = tenant_status(tenant_id, to)
        if pin_version:
            updates["raw_version"] = pin_version
        allowed = sorted(sources_of(to))
        if not allowed:
            raise TransitionRefused(f"no state leads to {to}")
        names = {"#status": "status", "#expires": "expires_at"}
        values: dict[str, Any] = {":to": to.value, ":now": int((now or datetime.now().astimezone()).timestamp())}
        sets = ["#status = :to"]
        for i, (key, value) in enumerate(sorted(updates.items())):
            if value is None:
                continue
            names[f"#u{i}"] = key
            values[f":u{i}"] = value.value if isinstance(value, ImageStatus) else value
            sets.append(f"#u{i} = :u{i}")
        pinned = ""
        if pin_version:
            names["#pin"], values[":pin"] = "raw_version", pin_version
            pinned = " AND (attribute_not_exists(#pin) OR #pin = :pin)"
        placeholders = []
        for i, state in enumerate(allowed):
            values[f":from{i}"] = state.value
            placeholders.append(f":from{i}")
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_to_attrs({"image_id": image_id}),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=f"#status IN ({', '.join(placeholders)}) AND #expires > :now" + pinned,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_to_attrs(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise TransitionRefused(f"{image_id}: cannot move to {to} from its current state") from None
            raise
        return ImageItem.model_validate(_from_attrs(response["Attributes"]))

    def list_for_tenant(
        self,
        tenant_id: str,
        status: ImageStatus,
        *,
        since: str | None = None,
        limit: int = 25,
        start_key: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> tuple[list[ImageItem], dict[str, Any] | None]:
        """One tenant's images of one status, newest first, from the by_tenant_status index: the tenant is the
        partition key, so nothing of another tenant is ever read (no filter, no scan). `start_key` is the
        position the previous page returned (the caller authenticates it); expired items are left out."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        partition = tenant_status(tenant_id, status)
        condition = "tenant_status = :partition" + (" AND created_at >= :since" if since else "")
        values: dict[str, Any] = {":partition": partition}
        if since:
            values[":since"] = since
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_tenant_status",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _to_attrs(values),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key is not None:
            if (
                set(start_key) != {"image_id", "tenant_status", "created_at"}
                or not all(
                    isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in start_key.values()
                )
                or start_key["tenant_status"]["S"] != partition
            ):
                raise ValueError("the position is not one of this listing")
            query["ExclusiveStartKey"] = start_key
        response = self._client.query(**query)
        items = [ImageItem.model_validate(_from_attrs(a)) for a in response.get("Items", [])]
        return [i for i in items if not i.is_expired(now)], response.get("LastEvaluatedKey")

    def expired(self, now: datetime, days_back: int) -> list[ImageItem]:
        """Items whose expires_at has passed but which TTL has not deleted yet, found through the by_day index
        for the `days_back` creation days up to today (expiry follows creation, so no scan of the table)."""
        found = []
        today = now.astimezone(UTC).date()
        for back in range(days_back + 1):
            query: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": "by_day",
                "KeyConditionExpression": "created_day = :day",
                "FilterExpression": "expires_at <= :now",
                "ExpressionAttributeValues": _to_attrs(
                    {":day": (today - timedelta(days=back)).isoformat(), ":now": int(now.timestamp())}
                ),
            }
            for page in self._client.get_paginator("query").paginate(**query):
                found += [ImageItem.model_validate(_from_attrs(a)) for a in page.get("Items", [])]
        return found

    def delete_unchanged(self, item: ImageItem) -> bool:
        """Deletes the item only while it is still of its tenant and in the status it was read in (the caller
        purged what that item records); False when it changed since (processed meanwhile: read it again) or
        is gone already."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=_to_attrs({"image_id": item.image_id}),
                ConditionExpression="tenant_id = :tenant AND #status = :status",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_to_attrs({":tenant": item.tenant_id, ":status": item.status.value}),
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete_expired(self, image_id: str, now: datetime) -> bool:
        """Deletes the item only if it has expired by `now`; False when it is gone already or not expired."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=_to_attrs({"image_id": image_id}),
                ConditionExpression="expires_at <= :now",
                ExpressionAttributeValues=_to_attrs({":now": int(now.timestamp())}),
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
