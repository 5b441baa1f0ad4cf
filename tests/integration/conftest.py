"""Integration fixtures: terraform/envs/local applied once per session into the session's local stack."""

from __future__ import annotations

from typing import Any

import pytest

from scripts import package, stack, tf
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
