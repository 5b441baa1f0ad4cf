"""Per-tenant quotas: the policy document Terraform writes, and the conditional counters against moto's DynamoDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from imgpipe.adapters.quota_ledger import QuotaLedger
from imgpipe.quotas import Limits, QuotaExceeded, QuotaPolicy

NOON = datetime(2026, 12, 2, 12, 0, 30, tzinfo=UTC)
POLICY = QuotaPolicy(
    Limits(uploads_per_day=100, bytes_per_day=10_000, requests_per_minute=100),
    {"small": Limits(uploads_per_day=3, bytes_per_day=1_000, requests_per_minute=4)},
)


@pytest.fixture
def ledger(offline_aws: None) -> tuple[QuotaLedger, Any]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName="state",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return QuotaLedger(client, "state", POLICY), client


def refused(call: Any, *args: Any) -> QuotaExceeded:
    with pytest.raises(QuotaExceeded) as caught:
        call(*args)
    return caught.value


def test_the_policy_is_read_as_terraform_writes_it() -> None:
    policy = QuotaPolicy.from_json(
        json.dumps(
            {
                "default": {"uploads_per_day": 500, "bytes_per_day": 10, "requests_per_minute": 60},
                "tenants": {"team-a": {"bytes_per_day": 99}},
            }
        )
    )
    assert policy.for_tenant("team-a") == Limits(500, 99, 60)  # the default fills what the tenant does not set
    assert policy.for_tenant("anyone") == Limits(500, 10, 60)
    assert QuotaPolicy.from_json(None) == QuotaPolicy.from_json("") == QuotaPolicy()


@pytest.mark.parametrize(
    "document",
    [
        "[]",
        '{"default": {}, "extra": 1}',
        '{"default": {"uploads_per_day": 0}}',
        '{"default": {"uploads_per_day": true}}',
        '{"default": {"uploads_per_day": 1.5}}',
        '{"default": {"uploads": 5}}',
        '{"tenants": {"Team A": {"uploads_per_day": 5}}}',
        '{"tenants": {"team-a": {"bytes_per_day": -1}}}',
        "not json",
    ],
)
def test_a_bad_policy_fails_at_cold_start(document: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (json.JSONDecodeError is one too)
        QuotaPolicy.from_json(document)


def test_the_n_plus_first_upload_of_the_day_is_refused_until_midnight(ledger: tuple[QuotaLedger, Any]) -> None:
    quotas, _ = ledger
    for _ in range(3):
        quotas.reserve_upload("small", 10, NOON)
    refusal = refused(quotas.reserve_upload, "small", 10, NOON)
    assert refusal.code == "quota_exceeded"
    assert refusal.retry_after_seconds == 12 * 3600 - 30  # until 00:00 UTC
    quotas.reserve_upload("other", 10, NOON)  # another tenant is untouched
    quotas.reserve_upload("small", 10, NOON + timedelta(hours=12))  # the next day starts afresh


def test_bytes_count_too_and_an_upload_larger_than_the_day_is_refused(ledger: tuple[QuotaLedger, Any]) -> None:
    quotas, _ = ledger
    assert refused(quotas.reserve_upload, "small", 1_001, NOON).code == "quota_exceeded"
    quotas.reserve_upload("small", 600, NOON)
    assert refused(quotas.reserve_upload, "small", 401, NOON).code == "quota_exceeded"
    quotas.reserve_upload("small", 400, NOON)  # exactly the limit


def test_a_refusal_counts_nothing_and_a_release_gives_the_upload_back(ledger: tuple[QuotaLedger, Any]) -> None:
    quotas, client = ledger
    reservations = [quotas.reserve_upload("small", 100, NOON) for _ in range(3)]
    for _ in range(5):
        refused(quotas.reserve_upload, "small", 100, NOON)
    item = client.get_item(TableName="state", Key={"id": {"S": reservations[0].key}})["Item"]
    assert (item["uploads"]["N"], item["bytes"]["N"]) == ("3", "300")
    assert int(item["expiration"]["N"]) == int(datetime(2026, 12, 4, tzinfo=UTC).timestamp())  # TTL: a day after
    quotas.release(reservations[0])
    quotas.reserve_upload("small", 100, NOON)
    refused(quotas.reserve_upload, "small", 100, NOON)


def test_requests_per_minute(ledger: tuple[QuotaLedger, Any]) -> None:
    quotas, _ = ledger
    for _ in range(4):
        quotas.count_request("small", NOON)
    refusal = refused(quotas.count_request, "small", NOON + timedelta(seconds=20))
    assert (refusal.code, refusal.retry_after_seconds) == ("rate_limited", 10)
    quotas.count_request("small", NOON + timedelta(seconds=30))  # 12:01:00, a new window
    for _ in range(50):
        quotas.count_request("other", NOON)


def test_each_limit_is_one_conditional_request(ledger: tuple[QuotaLedger, Any]) -> None:
    """Concurrent requests cannot overshoot because the condition and the increment are one UpdateItem, which
    DynamoDB applies atomically per item. The emulator does not serialize concurrent requests (so no local race
    test can show this); what can be checked is that nothing reads the counter first and writes it after."""
    quotas, client = ledger
    calls: list[tuple[str, dict[str, Any]]] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.*", lambda params, model, **_: calls.append((model.name, params))
    )
    quotas.reserve_upload("small", 10, NOON)
    quotas.count_request("small", NOON)
    assert [name for name, _ in calls] == ["UpdateItem", "UpdateItem"]
    for _, params in calls:
        assert params["UpdateExpression"].startswith("ADD ") and "ConditionExpression" in params
