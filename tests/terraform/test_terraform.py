"""Every module's `terraform test` suite (mocked AWS provider, offline) and `terraform validate` on every env.

Each module suite asserts the security and retention properties of that module; this file makes them part of
`make test`, and fails if a module ships without a suite.
"""

from __future__ import annotations

import re
import subprocess
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


def test_there_are_modules() -> None:
    assert {"kms", "storage", "metadata"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_has_the_standard_files_and_a_test_suite(module: str) -> None:
    directory = REPO_ROOT / "terraform" / "modules" / module
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (directory / name).is_file(), f"{module}/{name} missing"
    assert list((directory / "tests").glob("*.tftest.hcl")), f"{module} has no terraform test suite"


@pytest.mark.parametrize("suite", SUITES)
def test_terraform_test_suite_passes(suite: str, tree: Path) -> None:
    directory = tree / suite
    assert list(directory.glob("tests/*.tftest.hcl")), f"{suite} has no terraform test suite"
    tf.init(directory, backend=False)
    out = subprocess.run(
        [tf.terraform_bin(), f"-chdir={directory}", "test", "-no-color"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    summary = re.search(r"Success! (\d+) passed, 0 failed", out.stdout)
    assert summary and int(summary.group(1)) > 0, out.stdout


@pytest.mark.parametrize("env", tf.ENVS)
def test_env_validates(env: str, tree: Path) -> None:
    directory = tree / "envs" / env
    tf.init(directory, backend=False)
    out = subprocess.run(
        [tf.terraform_bin(), f"-chdir={directory}", "validate", "-no-color"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


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
