"""What gets installed is what was reviewed: every Python lock pins each package with the SHA-256 of its files and
every install runs pip in hash-checking mode; the Terraform provider is locked for the platforms that run it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from scripts.deploy import package
from tests.conftest import REPO_ROOT

LOCKS = sorted((REPO_ROOT / "requirements").glob("*.lock"))


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_pin_of_every_lock_carries_its_hashes(lock: Path) -> None:
    locked = package.read_locked(lock)  # exact pins only, each option a sha256 hash, or it raises
    # bootstrap.lock is uv alone (pip installs it, uv installs the rest); every other lock is a dependency tree.
    assert len(locked) == 1 if lock.name == "bootstrap.lock" else len(locked) >= 5
    unhashed = sorted(name for name, (_, sums) in locked.items() if not sums)
    assert unhashed == [], f"{lock.name}: no hash for {unhashed} (make lock)"


def test_every_install_runs_in_hash_checking_mode() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "pip install" in line]
    assert len(installs) == 3 and all("--require-hashes -r requirements/" in line for line in installs)
    # pip puts in uv only; uv installs both virtualenvs' trees
    assert [re.search(r"-r (requirements/\S+)", line).group(1) for line in installs] == [  # type: ignore[union-attr]
        "requirements/bootstrap.lock",
        "requirements/dev.lock",
        "requirements/checkov.lock",
    ]
    assert "-m pip install" in installs[0] and all("$(UV) pip install" in line for line in installs[1:])
    source = (REPO_ROOT / "scripts" / "deploy" / "package.py").read_text()
    assert '"--require-hashes"' in source  # the Lambda wheels (tests/unit/test_package.py tampers one)


def test_make_lock_regenerates_each_lock_with_hashes() -> None:
    dry_run = subprocess.run(["make", "-n", "lock"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    compiles = [line for line in dry_run.replace("\\\n", " ").splitlines() if "uv pip compile" in line]
    assert {re.search(r"-o (\S+)", line).group(1) for line in compiles} == {  # type: ignore[union-attr]
        f"requirements/{lock.name}" for lock in LOCKS
    }
    assert all("--generate-hashes" in line for line in compiles)
    lambda_line = next(line for line in compiles if "lambda.lock" in line)
    assert "--python-version 3.12" in lambda_line and "manylinux_2_28" in lambda_line
    assert all(f"--no-emit-package {name}" in lambda_line for name in package.PROVIDED_BY_RUNTIME)


ENV_LOCKS = sorted((REPO_ROOT / "terraform" / "envs").glob("*/.terraform.lock.hcl"))


def test_the_provider_lock_covers_every_platform_the_registry_publishes() -> None:
    # zh: hashes are the registry's SHA256SUMS of every platform's zip (linux arm64 and amd64 CodeBuild images,
    # macOS and Windows laptops); h1: hashes the unpacked provider of the platforms it was installed on.
    assert {p.parent.name for p in ENV_LOCKS} == {"local", "staging", "prod", "cicd"}
    texts = {p.parent.name: p.read_text() for p in ENV_LOCKS}
    for env, text in texts.items():
        assert 'version     = "5.100.0"' in text, env
        assert len(re.findall(r'"zh:[0-9a-f]{64}"', text)) >= 12, env
        assert re.search(r'"h1:[A-Za-z0-9+/=]{44}"', text), env
    assert len(set(texts.values())) == 1  # one provider, locked the same way in every root
