"""Key administration against a registry secret on the moto server."""

from __future__ import annotations

import json
import uuid

import pytest

from imgpipe.auth import AuthError, AuthFailure, authenticate, parse_registry
from scripts import keys, stack

pytestmark = pytest.mark.integration


def test_issue_revoke_round_trip(local_stack: stack.StackConfig) -> None:
    client = stack.aws_client(local_stack, "secretsmanager")
    name = f"imgpipe-test/registry-{uuid.uuid4().hex[:8]}"
    client.create_secret(Name=name, SecretString=json.dumps({"keys": []}))

    plaintext = keys.issue(client, name, "team-a", "Team A")
    stored = client.get_secret_value(SecretId=name)["SecretString"]
    assert plaintext.rsplit("_", 1)[1] not in stored  # the secret part is never stored
    assert authenticate(plaintext, parse_registry(json.loads(stored))).owner == "Team A"

    with pytest.raises(keys.KeyAdminError, match="exists already"):
        keys.issue(client, name, "team-a", "Someone else")

    keys.revoke(client, name, "team-a")
    with pytest.raises(AuthError) as caught:
        authenticate(plaintext, parse_registry(json.loads(client.get_secret_value(SecretId=name)["SecretString"])))
    assert caught.value.failure is AuthFailure.REVOKED
    with pytest.raises(keys.KeyAdminError, match="no key id"):
        keys.revoke(client, name, "nobody")
