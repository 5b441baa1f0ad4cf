"""The key registry read from Secrets Manager on the moto server, with the Powertools cache in between."""

from __future__ import annotations

import json
import uuid

import pytest

from imgpipe.adapters.key_registry import KeyRegistry
from imgpipe.auth import AuthError, AuthFailure, authenticate, issue_key
from scripts import stack

pytestmark = pytest.mark.integration


def test_revocation_takes_effect_after_the_cache_refreshes(local_stack: stack.StackConfig) -> None:
    secrets = stack.aws_client(local_stack, "secretsmanager")
    name = f"imgpipe-test/api-keys-{uuid.uuid4().hex[:8]}"
    key, record = issue_key("team-a", "Team A")
    secrets.create_secret(Name=name, SecretString=json.dumps({"keys": [record.to_json()]}))
    registry = KeyRegistry(name, client=secrets, max_age=300)

    assert authenticate(key, registry.records()).owner == "Team A"

    revoked = {**record.to_json(), "revoked": True}
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps({"keys": [revoked]}))
    assert authenticate(key, registry.records()).owner == "Team A"  # served from the cache until max_age
    with pytest.raises(AuthError) as caught:
        authenticate(key, registry.records(force=True))
    assert caught.value.failure is AuthFailure.REVOKED


def test_a_secret_that_is_not_a_json_object_is_an_error(local_stack: stack.StackConfig) -> None:
    secrets = stack.aws_client(local_stack, "secretsmanager")
    name = f"imgpipe-test/bad-{uuid.uuid4().hex[:8]}"
    secrets.create_secret(Name=name, SecretString=json.dumps(["not", "an", "object"]))
    with pytest.raises(ValueError, match="does not hold a JSON object"):
        KeyRegistry(name, client=secrets).records()


def test_a_key_issued_after_the_cache_filled_works_at_once_and_guessing_cannot_hammer_the_secret(
    local_stack: stack.StackConfig,
) -> None:
    secrets = stack.aws_client(local_stack, "secretsmanager")
    name = f"imgpipe-test/api-keys-{uuid.uuid4().hex[:8]}"
    _first, first_record = issue_key("first", "First")
    secrets.create_secret(Name=name, SecretString=json.dumps({"keys": [first_record.to_json()]}))
    now = [1000.0]
    registry = KeyRegistry(name, client=secrets, max_age=300, clock=lambda: now[0])
    assert "first" in registry.records()  # cache filled

    second, second_record = issue_key("second", "Second")
    secrets.put_secret_value(
        SecretId=name, SecretString=json.dumps({"keys": [first_record.to_json(), second_record.to_json()]})
    )
    assert authenticate(second, registry.records_for("second")).owner == "Second"

    _third, third_record = issue_key("third", "Third")
    secrets.put_secret_value(
        SecretId=name,
        SecretString=json.dumps({"keys": [first_record.to_json(), second_record.to_json(), third_record.to_json()]}),
    )
    assert "third" not in registry.records_for("third")  # refetched < 5 s ago: unknown ids wait
    now[0] += 5
    assert "third" in registry.records_for("third")
