"""Integration fixtures: terraform/envs/local applied once per session into the session's local stack."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from scripts import keys as key_admin
from scripts import local_gateway, package, stack, tf
from tests.conftest import REPO_ROOT, copy_terraform_tree


@pytest.fixture(scope="session")
def deployed(local_stack: stack.StackConfig, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The env's outputs after a real apply (a copy of the tree, so the checkout's state is untouched)."""
    root = copy_terraform_tree(tmp_path_factory.mktemp("deploy")).parent
    # The envs read dist/lambda/manifest.json next to terraform/, as `make up` leaves it.
    package.build(REPO_ROOT / "lambdas", root / "dist" / "lambda", "arm64")
    environ = tf.run_env("local", local_stack)
    assert tf.deploy("local", environ, auto_approve=True, root=root) is True
    outputs = tf.outputs("local", environ, root=root)
    outputs["_root"] = root
    outputs["_environ"] = environ
    return outputs


@pytest.fixture(scope="session")
def keys(deployed: dict[str, Any], local_stack: stack.StackConfig) -> dict[str, str]:
    """One good key (team-a, of tenant team-a) and one revoked key, issued once into the deployed key table."""
    admin = key_admin.admin_for(deployed, local_stack)
    good = admin.issue("team-a", "Team A")
    old = admin.issue("old", "Former partner")
    admin.revoke("old")
    return {"good": good, "revoked": old}


@pytest.fixture(scope="module")
def base_url(deployed: dict[str, Any], local_stack: stack.StackConfig, keys: dict[str, str]) -> Iterator[str]:
    """The local gateway serving the deployed API on a free port, for the module's tests."""
    gateway = local_gateway.build(local_stack, deployed)
    server = local_gateway.make_server(gateway, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
