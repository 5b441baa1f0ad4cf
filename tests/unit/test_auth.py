"""API-key authentication: missing, malformed, wrong, unknown and revoked credentials."""

from __future__ import annotations

import json

import pytest

from imgpipe.auth import AuthError, AuthFailure, KeyRecord, Principal, authenticate, issue_key, parse_registry


@pytest.fixture
def issued() -> tuple[str, dict[str, KeyRecord]]:
    key, record = issue_key("team-a", "Team A")
    revoked_key, revoked = issue_key("old", "Former partner")
    registry = {record.key_id: record, "old": KeyRecord("old", revoked.sha256, "Former partner", revoked=True)}
    return key + "|" + revoked_key, registry


def failure(value: str | None, registry: dict[str, KeyRecord]) -> AuthFailure:
    with pytest.raises(AuthError) as caught:
        authenticate(value, registry)
    return caught.value.failure


def test_a_valid_key_names_its_owner(issued: tuple[str, dict[str, KeyRecord]]) -> None:
    keys, registry = issued
    key = keys.split("|")[0]
    principal = authenticate(key, registry)
    assert (principal.key_id, principal.owner) == ("team-a", "Team A")
    assert authenticate(f"Bearer {key}", registry) == principal


def test_the_registry_never_holds_the_secret(issued: tuple[str, dict[str, KeyRecord]]) -> None:
    keys, registry = issued
    secret = keys.split("|")[0].rsplit("_", 1)[1]
    assert secret not in json.dumps([r.to_json() for r in registry.values()])


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


def test_registry_documents_are_validated() -> None:
    _, record = issue_key("ok", "Owner")
    assert parse_registry({"keys": [record.to_json()]}) == {"ok": record}
    with pytest.raises(ValueError, match="malformed key record"):
        parse_registry({"keys": [{"key_id": "ok", "sha256": "not-hex", "owner": "x"}]})


def test_key_ids_are_restricted() -> None:
    with pytest.raises(ValueError, match="key_id"):
        issue_key("Bad Id", "x")


def test_a_key_is_issued_for_a_tenant_its_own_id_by_default() -> None:
    key, record = issue_key("ci-bot", "CI", tenant="team-a")
    assert authenticate(key, {record.key_id: record}) == Principal("ci-bot", "CI", "team-a", "api_key")
    _, own = issue_key("solo", "Solo")
    assert own.tenant_id == "solo" and own.to_json()["tenant"] == "solo"
    with pytest.raises(ValueError, match="tenant"):
        issue_key("x", "X", tenant="Team A")


def test_registry_records_without_a_tenant_belong_to_their_key_and_bad_tenants_are_refused() -> None:
    _, record = issue_key("old", "Owner")
    legacy = {k: v for k, v in record.to_json().items() if k != "tenant"}
    assert parse_registry({"keys": [legacy]})["old"].tenant_id == "old"
    with pytest.raises(ValueError, match="malformed key record"):
        parse_registry({"keys": [{**legacy, "tenant": "../other"}]})


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
