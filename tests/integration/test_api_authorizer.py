"""api_authorizer invoked in-process with REQUEST authorizer events; the key registry lives in moto."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from imgpipe.auth import issue_key
from scripts import stack
from tests.lambda_loader import FakeContext, load_handler

pytestmark = pytest.mark.integration
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/PUT/v1/images"


@pytest.fixture(scope="module")
def keys(local_stack: stack.StackConfig) -> dict[str, str]:
    good, good_record = issue_key("team-a", "Team A")
    old, old_record = issue_key("old", "Former partner")
    name = f"imgpipe-test/api-keys-{uuid.uuid4().hex[:8]}"
    registry = {"keys": [good_record.to_json(), {**old_record.to_json(), "revoked": True}]}
    stack.aws_client(local_stack, "secretsmanager").create_secret(Name=name, SecretString=json.dumps(registry))
    return {"good": good, "revoked": old, "secret": name}


@pytest.fixture(scope="module")
def authorizer(local_stack: stack.StackConfig, keys: dict[str, str]) -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            **local_stack.client_env(),
            "API_KEYS_SECRET_ID": keys["secret"],
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
    result = authorizer.handler(event({"x-api-key": keys["good"]}), FakeContext("api_authorizer"))
    assert result["principalId"] == "team-a"
    assert result["context"] == {"key_id": "team-a", "owner": "Team A", "tenant_id": "team-a", "kind": "api_key"}
    statement = result["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*"]


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "garbage"}, {"x-api-key": "imgpipe_team-a_" + "A" * 43}])
def test_missing_malformed_and_wrong_keys_are_unauthorized(authorizer: ModuleType, headers: dict[str, str]) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(event(headers), FakeContext("api_authorizer"))


def test_revoked_key_is_denied(authorizer: ModuleType, keys: dict[str, str]) -> None:
    result = authorizer.handler(event({"x-api-key": keys["revoked"]}), FakeContext("api_authorizer"))
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in result or not result["context"]


def test_bearer_authorization_header_works_too(authorizer: ModuleType, keys: dict[str, str]) -> None:
    result = authorizer.handler(event({"authorization": f"Bearer {keys['good']}"}), FakeContext("api_authorizer"))
    assert result["principalId"] == "team-a"
