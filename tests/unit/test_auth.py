"""API-key authentication: missing, malformed, wrong, unknown and revoked credentials; peppered digests."""

from __future__ import annotations

import hashlib

import pytest

from imgpipe.auth import (
    AuthError,
    AuthFailure,
    KeyRecord,
    Principal,
    authenticate,
    issue_key,
    parse_legacy_registry,
)

PEPPER = b"p" * 48


def issue(key_id: str, owner: str, tenant: str | None = None) -> tuple[str, KeyRecord]:
    return issue_key(key_id, owner, tenant, PEPPER)


@pytest.fixture
def issued() -> tuple[str, dict[str, KeyRecord]]:
    key, record = issue("team-a", "Team A")
    revoked_key, revoked = issue("old", "Former partner")
    registry = {record.key_id: record, "old": KeyRecord("old", revoked.digest, "Former partner", revoked=True)}
    return key + "|" + revoked_key, registry


def failure(value: str | None, registry: dict[str, KeyRecord]) -> AuthFailure:
    with pytest.raises(AuthError) as caught:
        authenticate(value, registry, PEPPER)
    return caught.value.failure


def test_a_valid_key_names_its_owner(issued: tuple[str, dict[str, KeyRecord]]) -> None:
    keys, registry = issued
    key = keys.split("|")[0]
    principal = authenticate(key, registry, PEPPER)
    assert (principal.key_id, principal.owner) == ("team-a", "Team A")
    assert authenticate(f"Bearer {key}", registry, PEPPER) == principal


def test_the_record_holds_neither_the_secret_nor_its_plain_hash(issued: tuple[str, dict[str, KeyRecord]]) -> None:
    keys, registry = issued
    secret = keys.split("|")[0].removeprefix("imgpipe_team-a_")  # 43 characters, "_" among them
    stored = repr(registry["team-a"])
    assert secret not in stored and hashlib.sha256(secret.encode()).hexdigest() not in stored


def test_without_the_pepper_a_record_verifies_nothing(issued: tuple[str, dict[str, KeyRecord]]) -> None:
    keys, registry = issued
    with pytest.raises(AuthError) as caught:
        authenticate(keys.split("|")[0], registry, b"another pepper of the right size....!!")
    assert caught.value.failure is AuthFailure.INVALID


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_credentials_are_401(value: str | None, issued: tuple[str, dict[str, KeyRecord]]) -> None:
    result = failure(value, issued[1])
    assert (result, result.http_status) == (AuthFailure.MISSING, 401)


@pytest.mark.parametrize(
    "value",
    ["secret", "imgpipe_team-a_short", "imgpipe__" + "a" * 43, "Basic dXNlcjpwYXNz", "imgpipe_TEAM_" + "a" * 43],
)
def test_malformed_credentials_are_401(value: str, issued: tuple[str, dict[str, KeyRecord]]) -> None:
    assert failure(value, issued[1]) is AuthFailure.MALFORMED


def test_wrong_secret_and_unknown_id_are_the_same_401(issued: tuple[str, dict[str, KeyRecord]]) -> None:
    keys, registry = issued
    key = keys.split("|")[0]
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert failure(tampered, registry) is AuthFailure.INVALID
    assert failure(key.replace("team-a", "team-b"), registry) is AuthFailure.INVALID


def test_revoked_key_is_403(issued: tuple[str, dict[str, KeyRecord]]) -> None:
    keys, registry = issued
    result = failure(keys.split("|")[1], registry)
    assert (result, result.http_status) == (AuthFailure.REVOKED, 403)


def test_records_are_validated() -> None:
    with pytest.raises(ValueError, match="malformed key record"):
        KeyRecord("ok", "not-hex", "x")
    with pytest.raises(ValueError, match="malformed key record"):
        KeyRecord("Bad Id", "a" * 64, "x")
    with pytest.raises(ValueError, match="no valid tenant"):
        KeyRecord("ok", "a" * 64, "x", tenant="../other")


def test_key_ids_tenants_and_peppers_are_restricted() -> None:
    with pytest.raises(ValueError, match="key_id"):
        issue("Bad Id", "x")
    with pytest.raises(ValueError, match="tenant"):
        issue("x", "X", tenant="Team A")
    with pytest.raises(ValueError, match="pepper"):
        issue_key("x", "X", None, b"short")


def test_a_key_is_issued_for_a_tenant_its_own_id_by_default() -> None:
    key, record = issue("ci-bot", "CI", tenant="team-a")
    assert authenticate(key, {record.key_id: record}, PEPPER) == Principal("ci-bot", "CI", "team-a", "api_key")
    _, own = issue("solo", "Solo")
    assert own.tenant_id == "solo"


def test_keys_of_the_former_registry_migrate_without_their_secrets() -> None:
    """The old document held SHA-256(secret): peppering that digest gives exactly the new record's."""
    key = "imgpipe_legacy_" + "L" * 43
    old_document = {
        "keys": [
            {"key_id": "legacy", "sha256": hashlib.sha256(("L" * 43).encode()).hexdigest(), "owner": "Old"},
            {"key_id": "gone", "sha256": "b" * 64, "owner": "Gone", "revoked": True, "tenant": "team-b"},
        ]
    }
    migrated = {r.key_id: r.peppered(PEPPER) for r in parse_legacy_registry(old_document)}
    assert authenticate(key, migrated, PEPPER) == Principal("legacy", "Old", "legacy", "api_key")
    assert migrated["gone"].revoked and migrated["gone"].tenant_id == "team-b"
    with pytest.raises(ValueError, match="malformed key record"):
        parse_legacy_registry({"keys": [{"key_id": "ok", "sha256": "not-hex", "owner": "x"}]})


def test_a_request_presents_exactly_one_credential() -> None:
    from imgpipe.auth import credential_of

    key = "imgpipe_team-a_" + "A" * 43
    assert credential_of(key, None).kind == "api_key"
    assert credential_of(None, f"Bearer {key}").kind == "api_key"
    assert credential_of(None, f"bearer   {key} ").value == key
    assert credential_of(None, "Bearer aaa.bbb.ccc") == credential_of(None, "Bearer aaa.bbb.ccc")
    assert credential_of(None, "Bearer aaa.bbb.ccc").kind == "bearer_token"
    for api_key, authorization, failure in [
        (key, f"Bearer {key}", AuthFailure.AMBIGUOUS),
        (key, "Bearer aaa.bbb.ccc", AuthFailure.AMBIGUOUS),
        (None, None, AuthFailure.MISSING),
        ("  ", "", AuthFailure.MISSING),
        (None, "Basic dXNlcjpwYXNz", AuthFailure.MALFORMED),
        (None, "Bearer", AuthFailure.MALFORMED),
        (None, "Bearer a b", AuthFailure.MALFORMED),
        (None, key, AuthFailure.MALFORMED),
    ]:
        with pytest.raises(AuthError) as caught:
            credential_of(api_key, authorization)
        assert caught.value.failure is failure, (api_key, authorization)
        assert caught.value.failure.http_status == 401
