"""The API-key registry: one DynamoDB item per key, and the pepper of their digests in Secrets Manager.

Read side (KeyRegistry, the authorizer): one GetItem by key id, cached per key for at most max_age seconds, which
bounds how long a revoked key keeps working; the pepper, which never changes, is read once per container.
Write side (KeyAdmin, scripts/ops/keys.py): an issue is a put conditional on the id being new, a revocation an update
conditional on the key existing; each touches its own key's item only, so concurrent issues and revocations can
neither overwrite nor undo each other.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from imgpipe.auth import KeyRecord, LegacyRecord, issue_key, parse_legacy_registry

DEFAULT_CACHE_SECONDS = 60  # a revoked key stops working within a minute without a read per request
# The one version of the pepper: Secrets Manager refuses a second, different value under the same token, so two
# first issues at once write one pepper between them.
PEPPER_VERSION_TOKEN = "imgpipe-api-key-pepper-version-0001"  # noqa: S105 (an idempotency token, not a secret)


class NoPepper(Exception):
    """No key was ever issued in this environment (the pepper is written with the first)."""


class KeyAdminError(Exception):
    """An issue or revocation that would contradict the registry (duplicate id, unknown id)."""


def _record(item: dict[str, Any]) -> KeyRecord:
    return KeyRecord(
        item["key_id"]["S"],
        item["digest"]["S"],
        item["owner"]["S"],
        bool(item.get("revoked", {}).get("BOOL", False)),
        item.get("tenant", {}).get("S", ""),
    )


def _read_pepper(client: Any, secret_id: str) -> bytes:
    try:
        value = client.get_secret_value(SecretId=secret_id)["SecretString"]
    except client.exceptions.ResourceNotFoundException:
        raise NoPepper(secret_id) from None
    return str(value).encode()


class KeyRegistry:
    def __init__(
        self,
        table_name: str,
        pepper_secret_id: str,
        dynamodb: Any,
        secretsmanager: Any,
        max_age: int = DEFAULT_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table_name
        self._pepper_secret_id = pepper_secret_id
        self._dynamodb = dynamodb
        self._secrets = secretsmanager
        self._max_age = max_age
        self._clock = clock
        self._cache: dict[str, tuple[float, KeyRecord]] = {}
        self._pepper: bytes | None = None

    def pepper(self) -> bytes:
        if self._pepper is None:
            self._pepper = _read_pepper(self._secrets, self._pepper_secret_id)
        return self._pepper

    def records_for(self, key_id: str | None) -> dict[str, KeyRecord]:
        """{key_id: its record} or {} for an unknown id. Known records are served from the cache up to max_age;
        unknown ids are never cached, so a key issued a moment ago works at once."""
        if not key_id:
            return {}
        cached = self._cache.get(key_id)
        if cached and self._clock() - cached[0] < self._max_age:
            return {key_id: cached[1]}
        item = self._dynamodb.get_item(TableName=self._table, Key={"key_id": {"S": key_id}}, ConsistentRead=True)
        if "Item" not in item:
            self._cache.pop(key_id, None)
            return {}
        record = _record(item["Item"])
        self._cache[key_id] = (self._clock(), record)
        return {key_id: record}


class KeyAdmin:
    def __init__(self, table_name: str, pepper_secret_id: str, dynamodb: Any, secretsmanager: Any) -> None:
        self._table = table_name
        self._pepper_secret_id = pepper_secret_id
        self._dynamodb = dynamodb
        self._secrets = secretsmanager

    def pepper(self) -> bytes:
        """The environment's pepper, written now if no key was ever issued (once, whoever comes first)."""
        try:
            return _read_pepper(self._secrets, self._pepper_secret_id)
        except NoPepper:
            pass
        # Another first issue may have written it a moment ago: then that one is the pepper.
        with contextlib.suppress(self._secrets.exceptions.ResourceExistsException):
            self._secrets.put_secret_value(
                SecretId=self._pepper_secret_id,
                SecretString=secrets.token_urlsafe(48),
                ClientRequestToken=PEPPER_VERSION_TOKEN,
            )
        return _read_pepper(self._secrets, self._pepper_secret_id)

    def _put(self, record: KeyRecord) -> None:
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "key_id": {"S": record.key_id},
                    "digest": {"S": record.digest},
                    "owner": {"S": record.owner},
                    "tenant": {"S": record.tenant_id},
                    "revoked": {"BOOL": record.revoked},
                    "issued_at": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
                },
                ConditionExpression="attribute_not_exists(key_id)",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            raise KeyAdminError(f"key id {record.key_id!r} exists already; revoke it and issue another id") from None

    def issue(self, key_id: str, owner: str, tenant: str | None = None) -> str:
        plaintext, record = issue_key(key_id, owner, tenant, self.pepper())
        self._put(record)
        return plaintext

    def revoke(self, key_id: str) -> None:
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"key_id": {"S": key_id}},
                UpdateExpression="SET revoked = :true, revoked_at = :now",
                ConditionExpression="attribute_exists(key_id)",
                ExpressionAttributeValues={
                    ":true": {"BOOL": True},
                    ":now": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
                },
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            raise KeyAdminError(f"no key id {key_id!r} in the registry") from None

    def records(self) -> list[KeyRecord]:
        """Every key (operators' listing; the authorizer never scans)."""
        found = []
        for page in self._dynamodb.get_paginator("scan").paginate(TableName=self._table, ConsistentRead=True):
            found += [_record(item) for item in page["Items"]]
        return sorted(found, key=lambda r: r.key_id)

    def migrate_from(self, legacy_secret_id: str) -> tuple[int, int]:
        """Moves the keys of the former registry secret in, peppered: (moved, already there)."""
        document = json.loads(self._secrets.get_secret_value(SecretId=legacy_secret_id)["SecretString"] or "{}")
        if not isinstance(document, dict):
            raise ValueError(f"{legacy_secret_id} does not hold a registry document")
        return self.migrate(parse_legacy_registry(document))

    def migrate(self, legacy: list[LegacyRecord]) -> tuple[int, int]:
        """Moves records of the former registry document in, peppered: (moved, already there)."""
        pepper = self.pepper()
        moved = skipped = 0
        for record in legacy:
            try:
                self._put(record.peppered(pepper))
                moved += 1
            except KeyAdminError:
                skipped += 1
        return moved, skipped
