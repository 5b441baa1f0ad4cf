"""Every module's `terraform test` suite (mocked AWS provider, offline) and `terraform validate` on every env.

Each module suite asserts the security and retention properties of that module; this file makes them part of
`make test`, and fails if a module ships without a suite.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.deploy import tf
from tests.conftest import REPO_ROOT, copy_terraform_tree

pytestmark = pytest.mark.terraform
MODULES = sorted(p.name for p in (REPO_ROOT / "terraform" / "modules").iterdir() if p.is_dir())
SUITES = [f"modules/{m}" for m in MODULES] + [f"envs/{e}" for e in tf.ENVS]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_terraform_tree(tmp_path_factory.mktemp("tf"))


@pytest.fixture(scope="module")
def reattached_aws_provider(tree: Path) -> Iterator[dict[str, str]]:
    """One AWS provider process for this worker's `terraform test` suites, which Terraform attaches to
    (TF_REATTACH_PROVIDERS, its mechanism for a provider started by someone else) instead of starting and
    stopping the 700 MB provider twice per run block: ingest_api's 47 runs took 81 s and 107 s of CPU that way,
    65 s and 85 s attached. The suites mock the provider, so it is never configured: nothing passes between
    them through it. Stopped by its PID at the end of the module."""
    directory = tree / "modules" / "queue"
    tf.init(directory, backend=False)
    binaries = sorted(
        (directory / ".terraform" / "providers").glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws*")
    )
    assert binaries, "terraform init installed no AWS provider"
    process = subprocess.Popen(
        [str(binaries[-1]), "-debug"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    reattach: dict[str, str] = {}
    serving = threading.Event()

    def read_log() -> None:  # to its end, so the provider never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            if not serving.is_set() and (found := re.search(r"TF_REATTACH_PROVIDERS='(\{.*\})'", line)):
                reattach.update(json.loads(found.group(1)))
                serving.set()
        serving.set()  # exited: the assertion below says so

    threading.Thread(target=read_log, daemon=True).start()
    try:
        serving.wait(timeout=60)
        assert reattach, "the AWS provider did not start serving within 60 s"
        yield {"TF_REATTACH_PROVIDERS": json.dumps(reattach)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_there_are_modules() -> None:
    assert {"kms", "storage", "metadata"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_has_the_standard_files_and_a_test_suite(module: str) -> None:
    directory = REPO_ROOT / "terraform" / "modules" / module
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (directory / name).is_file(), f"{module}/{name} missing"
    assert list((directory / "tests").glob("*.tftest.hcl")), f"{module} has no terraform test suite"


@pytest.mark.parametrize("suite", SUITES)
def test_terraform_test_suite_passes(suite: str, tree: Path, reattached_aws_provider: dict[str, str]) -> None:
    """Every module and every env (SUITES): `terraform test` validates the configuration before its first run,
    so an env's suite is also its `terraform validate` (which `make lint` runs as well)."""
    directory = tree / suite
    assert list(directory.glob("tests/*.tftest.hcl")), f"{suite} has no terraform test suite"
    tf.init(directory, backend=False)
    out = subprocess.run(
        [tf.terraform_bin(), f"-chdir={directory}", "test", "-no-color"],
        capture_output=True,
        text=True,
        env={**os.environ, **reattached_aws_provider},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    summary = re.search(r"Success! (\d+) passed, 0 failed", out.stdout)
    assert summary and int(summary.group(1)) > 0, out.stdout


@pytest.mark.parametrize("env", tf.ENVS)
def test_env_commits_a_provider_lock_file(env: str) -> None:
    lock = (REPO_ROOT / "terraform" / "envs" / env / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert re.search(r'version\s*=\s*"5\.\d+\.\d+"', lock)


def test_terraform_is_formatted() -> None:
    out = subprocess.run(
        [tf.terraform_bin(), "fmt", "-check", "-recursive", "-diff", "terraform"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout
