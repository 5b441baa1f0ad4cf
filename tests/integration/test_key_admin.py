"""`python -m scripts.ops.keys` against the deployed environment's key table, as an operator runs it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from scripts.deploy import tf
from scripts.local import stack
from scripts.ops import keys

pytestmark = pytest.mark.integration


def test_issue_list_revoke_through_the_cli(
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The session's stack and its deployed outputs, where an operator's shell would find `make up`'s.
    monkeypatch.setattr(stack.StackConfig, "from_env", classmethod(lambda cls, environ=None: local_stack))
    monkeypatch.setattr(tf, "outputs", lambda *_args, **_kw: deployed)
    key_id = f"cli-{int(time.time() * 1000)}"
    assert keys.main(["issue", key_id, "CLI test", "--tenant", "acme"]) == 0
    plaintext = capsys.readouterr().out.strip()
    assert plaintext.startswith(f"imgpipe_{key_id}_")
    assert keys.main(["issue", key_id, "again"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert keys.main(["revoke", key_id]) == 0
    assert "within" in capsys.readouterr().out
    assert keys.main(["list"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith(key_id)]
    assert len(listed) == 1 and "tenant acme" in listed[0] and listed[0].endswith("REVOKED")
    assert plaintext.removeprefix(f"imgpipe_{key_id}_") not in listed[0]
    assert keys.main(["revoke", "nobody-at-all"]) == 2


def test_a_revoked_key_is_refused_over_http_within_the_authorizers_cache_time(
    deployed: dict[str, Any], local_stack: stack.StackConfig, base_url: str
) -> None:
    """End to end: API Gateway caches no decision (TTL 0) and the authorizer caches a record at most
    api_keys_cache_seconds (60 by default; envs/local sets 5, so this waits 5 s rather than a minute)."""
    import requests

    cache_s = deployed["api_keys_cache_seconds"]
    assert 0 < cache_s <= 60
    admin = keys.admin_for(deployed, local_stack)
    key_id = f"revoke-e2e-{int(time.time() * 1000)}"
    key = admin.issue(key_id, "revocation test")
    assert requests.get(f"{base_url}/v1/images", headers={"x-api-key": key}, timeout=30).status_code == 200
    admin.revoke(key_id)
    revoked_at = time.monotonic()
    while (status := requests.get(f"{base_url}/v1/images", headers={"x-api-key": key}, timeout=30).status_code) == 200:
        assert time.monotonic() - revoked_at < cache_s + 2, f"a revoked key still worked after {cache_s} s"
        time.sleep(0.5)
    assert status == 403
