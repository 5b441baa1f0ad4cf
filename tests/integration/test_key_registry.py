"""The key registry on the moto server: one DynamoDB item per key, the pepper in Secrets Manager.

Issues and revocations race here for real (threads against the emulator, each on its own key's item): a
revocation is never lost. Races on one item (two issues of one id) rest on DynamoDB's conditional writes, which
the emulator does not serialize; they are shown by their conditions instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from imgpipe.adapters.key_registry import PEPPER_VERSION_TOKEN, KeyAdmin, KeyAdminError, KeyRegistry, NoPepper
from imgpipe.auth import AuthError, AuthFailure, authenticate, key_id_of
from scripts.local import stack

pytestmark = pytest.mark.integration


@pytest.fixture
def names(local_stack: stack.StackConfig) -> Iterator[tuple[str, str]]:
    """A fresh key table and pepper secret (no value yet), as Terraform leaves them."""
    suffix = uuid.uuid4().hex[:8]
    table, secret = f"imgpipe-test-api-keys-{suffix}", f"imgpipe-test/api-key-pepper-{suffix}"
    dynamodb = stack.aws_client(local_stack, "dynamodb")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "key_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "key_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    stack.aws_client(local_stack, "secretsmanager").create_secret(Name=secret)
    yield table, secret
    dynamodb.delete_table(TableName=table)


def admin(local_stack: stack.StackConfig, names: tuple[str, str]) -> KeyAdmin:
    return KeyAdmin(*names, stack.aws_client(local_stack, "dynamodb"), stack.aws_client(local_stack, "secretsmanager"))


def registry(local_stack: stack.StackConfig, names: tuple[str, str], **kwargs: Any) -> KeyRegistry:
    return KeyRegistry(
        *names, stack.aws_client(local_stack, "dynamodb"), stack.aws_client(local_stack, "secretsmanager"), **kwargs
    )


def check(key: str, reader: KeyRegistry) -> str:
    return authenticate(key, reader.records_for(key_id_of(key)), reader.pepper()).tenant_id


def test_before_the_first_issue_there_is_no_pepper_and_no_key(
    local_stack: stack.StackConfig, names: tuple[str, str]
) -> None:
    reader = registry(local_stack, names)
    with pytest.raises(NoPepper):
        reader.pepper()
    assert reader.records_for("anyone") == {}


def test_the_table_holds_only_peppered_digests(local_stack: stack.StackConfig, names: tuple[str, str]) -> None:
    import hashlib

    key = admin(local_stack, names).issue("team-a", "Team A", "acme")
    secret = key.removeprefix("imgpipe_team-a_")  # 43 characters, "_" among them
    items = stack.aws_client(local_stack, "dynamodb").scan(TableName=names[0])["Items"]
    dumped = repr(items)
    assert secret not in dumped and hashlib.sha256(secret.encode()).hexdigest() not in dumped
    assert {k for k in items[0]} == {"key_id", "digest", "owner", "tenant", "revoked", "issued_at"}
    assert check(key, registry(local_stack, names)) == "acme"


def test_a_revocation_takes_effect_when_the_cache_expires_and_never_later(
    local_stack: stack.StackConfig, names: tuple[str, str]
) -> None:
    keys = admin(local_stack, names)
    key = keys.issue("team-a", "Team A")
    now = [1000.0]
    reader = registry(local_stack, names, max_age=60, clock=lambda: now[0])
    assert check(key, reader) == "team-a"
    keys.revoke("team-a")
    now[0] += 59.9
    assert check(key, reader) == "team-a"  # the authorizer's cache: at most 60 s
    now[0] += 0.1
    with pytest.raises(AuthError) as caught:
        check(key, reader)
    assert caught.value.failure is AuthFailure.REVOKED


def test_a_key_issued_a_moment_ago_works_at_once(local_stack: stack.StackConfig, names: tuple[str, str]) -> None:
    keys, reader = admin(local_stack, names), registry(local_stack, names, max_age=60)
    keys.issue("first", "First")
    assert reader.records_for("second") == {}  # tried before it exists: not remembered
    second = keys.issue("second", "Second")
    assert check(second, reader) == "second"


def test_ids_are_issued_once_and_only_issued_keys_can_be_revoked(
    local_stack: stack.StackConfig, names: tuple[str, str]
) -> None:
    keys = admin(local_stack, names)
    keys.issue("team-a", "Team A")
    with pytest.raises(KeyAdminError, match="exists already"):
        keys.issue("team-a", "Someone else", "their-tenant")
    with pytest.raises(KeyAdminError, match="no key id"):
        keys.revoke("nobody")
    assert [(r.key_id, r.owner, r.revoked) for r in keys.records()] == [("team-a", "Team A", False)]


def test_fifty_races_of_issue_and_revoke_never_lose_a_revocation(
    local_stack: stack.StackConfig, names: tuple[str, str]
) -> None:
    """The former registry was one document rewritten whole: an issue racing a revocation could write back the
    key as active. Each round here revokes one key while another is issued, from two threads."""
    keys = admin(local_stack, names)
    victims = {f"victim-{n}": keys.issue(f"victim-{n}", "to revoke") for n in range(50)}

    def race(n: int) -> None:
        with ThreadPoolExecutor(max_workers=2) as pair:
            issued = pair.submit(admin(local_stack, names).issue, f"new-{n}", "issued meanwhile")
            revoked = pair.submit(admin(local_stack, names).revoke, f"victim-{n}")
            issued.result(), revoked.result()

    with ThreadPoolExecutor(max_workers=8) as rounds:
        list(rounds.map(race, range(50)))
    records = {r.key_id: r for r in keys.records()}
    assert len(records) == 100
    assert all(records[name].revoked for name in victims)
    assert not any(records[f"new-{n}"].revoked for n in range(50))
    reader = registry(local_stack, names)
    for key in victims.values():
        with pytest.raises(AuthError) as caught:
            check(key, reader)
        assert caught.value.failure is AuthFailure.REVOKED


def test_the_pepper_is_written_once_whoever_comes_first(local_stack: stack.StackConfig, names: tuple[str, str]) -> None:
    """Two first issues at once: each may find no pepper and write one, but Secrets Manager refuses a second value
    under the same idempotency token, so the loser reads the winner's. (moto does not serialize concurrent
    requests, so the race itself is shown by its mechanism, not by threads.)"""
    first = admin(local_stack, names).issue("first", "First")
    secrets = stack.aws_client(local_stack, "secretsmanager")
    with pytest.raises(secrets.exceptions.ResourceExistsException):
        secrets.put_secret_value(
            SecretId=names[1], SecretString="another pepper", ClientRequestToken=PEPPER_VERSION_TOKEN
        )
    second = admin(local_stack, names).issue("second", "Second")
    reader = registry(local_stack, names)
    assert [check(first, reader), check(second, reader)] == ["first", "second"]


def test_the_former_registry_migrates_once(local_stack: stack.StackConfig, names: tuple[str, str]) -> None:
    import hashlib
    import json

    secrets = stack.aws_client(local_stack, "secretsmanager")
    legacy = f"imgpipe-test/api-keys-{uuid.uuid4().hex[:8]}"
    document = {"keys": [{"key_id": "legacy", "sha256": hashlib.sha256(b"S" * 43).hexdigest(), "owner": "Old",
                          "revoked": False, "tenant": "acme"}]}  # fmt: skip
    secrets.create_secret(Name=legacy, SecretString=json.dumps(document))
    keys = admin(local_stack, names)
    assert keys.migrate_from(legacy) == (1, 0)
    assert keys.migrate_from(legacy) == (0, 1)
    assert check("imgpipe_legacy_" + "S" * 43, registry(local_stack, names)) == "acme"
