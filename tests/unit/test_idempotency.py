"""imgpipe.idempotency (a function run once per key, saying when it replays) and imgpipe.adapters.environment
(the adapters and settings built from the function's environment), against in-process moto."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from imgpipe import idempotency
from imgpipe.adapters import environment
from imgpipe.config import ConfigError
from scripts.local.lambda_host import LocalContext

TABLE = "idempotency"


@pytest.fixture
def table(offline_aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
    return TABLE


def counted() -> tuple[list[str], idempotency.Once[dict[str, Any]]]:
    calls: list[str] = []

    def store(request: dict[str, str], data: str) -> dict[str, Any]:
        calls.append(data)
        return {"stored": data, "n": len(calls)}

    settings = idempotency.settings("key", 3600, payload_validation_jmespath="digest")
    return calls, idempotency.Once(store, settings, data_keyword_argument="request")


def test_the_first_call_runs_and_a_repeat_replays_its_answer(table: str) -> None:
    calls, once = counted()
    context: Any = LocalContext("f")  # the LambdaContext attributes Powertools reads
    first = once(context, request={"key": "k1", "digest": "d1"}, data="a")
    again = once(context, request={"key": "k1", "digest": "d1"}, data="a")
    other = once(None, request={"key": "k2", "digest": "d1"}, data="b")
    assert (first.value, first.replayed) == ({"stored": "a", "n": 1}, False)
    assert (again.value, again.replayed) == ({"stored": "a", "n": 1}, True)
    assert (other.value, other.replayed) == ({"stored": "b", "n": 2}, False)  # a replay is not sticky
    assert calls == ["a", "b"]


def test_the_same_key_with_another_payload_is_refused(table: str) -> None:
    calls, once = counted()
    once(None, request={"key": "k1", "digest": "d1"}, data="a")
    with pytest.raises(idempotency.KeyReused):
        once(None, request={"key": "k1", "digest": "d2"}, data="a")
    assert calls == ["a"]


def test_keys_are_hashed_with_sha256_and_expire_as_configured(table: str) -> None:
    _, once = counted()
    once(None, request={"key": "k1", "digest": "d1"}, data="a")
    [record] = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    assert len(record["id"]["S"].rsplit("#", 1)[-1]) == 64  # a SHA-256, not Powertools' default MD5
    assert once.config.expires_after_seconds == 3600 and once.config.hash_function == "sha256"


def test_the_invocation_context_is_registered_for_in_progress_expiry(table: str) -> None:
    _, once = counted()
    context: Any = LocalContext("f")
    once(context, request={"key": "k1", "digest": "d1"}, data="a")
    assert once.config.lambda_context is context


def test_the_table_comes_from_the_environment(offline_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    with pytest.raises(ConfigError, match="IDEMPOTENCY_TABLE"):
        idempotency.Once(lambda request: request, idempotency.settings("key", 60), data_keyword_argument="request")


def test_settings_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IDEMPOTENCY_SECONDS", "RETENTION_DAYS", "MAX_UPLOAD_BYTES"):
        monkeypatch.delenv(name, raising=False)
    assert (idempotency.seconds(3600, 86400), environment.retention_days()) == (3600, 7)
    assert environment.max_upload_bytes() == 10 * 1024 * 1024
    monkeypatch.setenv("IDEMPOTENCY_SECONDS", "59")
    with pytest.raises(ConfigError, match="IDEMPOTENCY_SECONDS"):
        idempotency.seconds(3600, 86400)
    monkeypatch.setenv("RETENTION_DAYS", "8")
    with pytest.raises(ConfigError, match="RETENTION_DAYS"):
        environment.retention_days()


def test_adapters_are_built_from_the_environment(offline_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "images")
    monkeypatch.setenv("RAW_BUCKET", "raw-bucket")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
    monkeypatch.delenv("KMS_KEY_ARN", raising=False)
    with pytest.raises(ConfigError, match="KMS_KEY_ARN"):  # every bucket is written with the function's key
        environment.object_store("RAW_BUCKET")
    monkeypatch.setenv("KMS_KEY_ARN", "arn:aws:kms:us-east-1:123456789012:key/k")
    assert environment.object_store("RAW_BUCKET").bucket == "raw-bucket"
    assert environment.metadata_table()._table == "images"
    claims = environment.request_claims("api", 120)
    assert (claims._table, claims._scope, claims._lifetime.total_seconds()) == (TABLE, "api", 120)
