"""scripts/ops/users against moto's cognito-idp in-process: users land in exactly one tenant group, never move."""

from __future__ import annotations

import string
from typing import Any

import boto3
import pytest

from imgpipe.tokens import CognitoSettings, principal_of
from scripts.ops import users


@pytest.fixture
def pool(offline_aws: None) -> tuple[Any, str, str]:
    client = boto3.client("cognito-idp", region_name="us-east-1")
    pool_id = client.create_user_pool(PoolName="imgpipe-test-users")["UserPool"]["Id"]
    app = client.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )
    return client, pool_id, app["UserPoolClient"]["ClientId"]


def test_a_user_signs_in_as_a_member_of_its_tenant(pool: tuple[Any, str, str]) -> None:
    import jwt

    client, pool_id, client_id = pool
    password = users.generated_password()
    users.add(client, pool_id, "alice", "team-a", None, password)
    users.add(client, pool_id, "anne", "team-a", None, users.generated_password())  # the group exists already
    token = users.access_token(client, client_id, "alice", password)
    claims = jwt.decode(token, options={"verify_signature": False})  # the signature: tests/unit/test_tokens.py
    assert claims["cognito:groups"] == ["tenant:team-a"] and claims["token_use"] == "access"
    assert principal_of(claims).tenant_id == "team-a"
    assert users.tenant_of(client, pool_id, "anne") == "team-a"
    assert CognitoSettings.for_pool(claims["iss"], [client_id]).issuer.endswith(pool_id)


def test_a_user_is_never_moved_to_another_tenant(pool: tuple[Any, str, str]) -> None:
    client, pool_id, _ = pool
    users.add(client, pool_id, "alice", "team-a", None, users.generated_password())
    with pytest.raises(users.UserAdminError, match="exists already"):
        users.add(client, pool_id, "alice", "team-b", None, users.generated_password())
    assert users.tenant_of(client, pool_id, "alice") == "team-a"


@pytest.mark.parametrize("tenant", ["", "Team-A", "../a", "a" * 64, "team a"])
def test_tenant_ids_are_checked_before_anything_is_created(pool: tuple[Any, str, str], tenant: str) -> None:
    client, pool_id, _ = pool
    with pytest.raises(users.UserAdminError, match="tenant"):
        users.add(client, pool_id, "alice", tenant, None, users.generated_password())
    assert client.list_users(UserPoolId=pool_id)["Users"] == []
    assert client.list_groups(UserPoolId=pool_id)["Groups"] == []


def test_on_aws_the_invitation_needs_an_email(pool: tuple[Any, str, str]) -> None:
    client, pool_id, _ = pool
    with pytest.raises(users.UserAdminError, match="email"):
        users.add(client, pool_id, "alice", "team-a", None, None)
    assert client.list_users(UserPoolId=pool_id)["Users"] == []


def test_a_disabled_user_cannot_sign_in(pool: tuple[Any, str, str]) -> None:
    client, pool_id, client_id = pool
    password = users.generated_password()
    users.add(client, pool_id, "alice", "team-a", None, password)
    users.disable(client, pool_id, "alice")
    with pytest.raises(users.UserAdminError, match="disabled"):
        users.access_token(client, client_id, "alice", password)
    with pytest.raises(users.UserAdminError, match="no user"):
        users.disable(client, pool_id, "nobody")


def test_wrong_passwords_say_nothing_about_which_users_exist(pool: tuple[Any, str, str]) -> None:
    client, pool_id, client_id = pool
    users.add(client, pool_id, "alice", "team-a", None, users.generated_password())
    messages = set()
    for name in ["alice", "nobody"]:
        with pytest.raises(users.UserAdminError) as caught:
            users.access_token(client, client_id, name, "Wrong-password-1")
        messages.add(str(caught.value))
    assert len(messages) == 1


def test_generated_passwords_meet_the_pool_policy() -> None:
    for _ in range(50):
        password = users.generated_password()
        assert len(password) == 24
        assert all(
            any(c in group for c in password)
            for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
        )
        assert any(not c.isalnum() for c in password)
