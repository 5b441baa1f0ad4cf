"""api_authorizer invoked in-process with REQUEST authorizer events; the key registry lives in moto."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from imgpipe.adapters.key_registry import KeyAdmin
from scripts.local import stack
from scripts.local.lambda_host import LocalContext, load_handler

pytestmark = pytest.mark.integration
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/PUT/v1/images"


@pytest.fixture(scope="module")
def keys(local_stack: stack.StackConfig) -> dict[str, str]:
    """A key table and pepper of their own, with one good and one revoked key."""
    suffix = uuid.uuid4().hex[:8]
    table, pepper = f"imgpipe-test-api-keys-{suffix}", f"imgpipe-test/api-key-pepper-{suffix}"
    stack.aws_client(local_stack, "dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "key_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "key_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    stack.aws_client(local_stack, "secretsmanager").create_secret(Name=pepper)
    admin = KeyAdmin(
        table, pepper, stack.aws_client(local_stack, "dynamodb"), stack.aws_client(local_stack, "secretsmanager")
    )
    good, old = admin.issue("team-a", "Team A"), admin.issue("old", "Former partner")
    admin.revoke("old")
    return {"good": good, "revoked": old, "table": table, "pepper": pepper}


@pytest.fixture(scope="module")
def authorizer(local_stack: stack.StackConfig, keys: dict[str, str]) -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            **local_stack.client_env(),
            "API_KEYS_TABLE": keys["table"],
            "API_KEY_PEPPER_SECRET_ID": keys["pepper"],
            "POWERTOOLS_TRACE_DISABLED": "true",
        }.items():
            patch.setenv(key, value)
        module = load_handler("api_authorizer")
        module.registry.cache_clear()
        yield module


def event(headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "resource": "/v1/images",
        "path": "/v1/images",
        "httpMethod": "PUT",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {},
        "pathParameters": {},
        "stageVariables": {},
        "requestContext": {"stage": "v1", "requestId": "r", "apiId": "abc123", "httpMethod": "PUT"},
    }


def test_valid_key_is_allowed_with_its_identity_in_the_context(authorizer: ModuleType, keys: dict[str, str]) -> None:
    result = authorizer.handler(event({"x-api-key": keys["good"]}), LocalContext("api_authorizer", timeout_s=30))
    assert result["principalId"] == "team-a"
    assert result["context"] == {"key_id": "team-a", "owner": "Team A", "tenant_id": "team-a", "kind": "api_key"}
    statement = result["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*"]


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "garbage"}, {"x-api-key": "imgpipe_team-a_" + "A" * 43}])
def test_missing_malformed_and_wrong_keys_are_unauthorized(authorizer: ModuleType, headers: dict[str, str]) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(event(headers), LocalContext("api_authorizer", timeout_s=30))


def test_revoked_key_is_denied(authorizer: ModuleType, keys: dict[str, str]) -> None:
    result = authorizer.handler(event({"x-api-key": keys["revoked"]}), LocalContext("api_authorizer", timeout_s=30))
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in result or not result["context"]


def test_bearer_authorization_header_works_too(authorizer: ModuleType, keys: dict[str, str]) -> None:
    result = authorizer.handler(
        event({"authorization": f"Bearer {keys['good']}"}), LocalContext("api_authorizer", timeout_s=30)
    )
    assert result["principalId"] == "team-a"
