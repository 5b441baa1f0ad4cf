"""The import contracts `make lint` checks (pyproject.toml [tool.importlinter]) hold, and do catch what they
forbid: an upward import across the layers of scripts/, a cycle between siblings, the library importing tooling."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.cli import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{root / 'shared'}"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The packages the contracts name, copied, so a test can break them without touching the checkout."""
    for folder in ("scripts", "tests", "shared/imgpipe"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def add_import(module: Path, statement: str) -> None:
    module.write_text(module.read_text() + f"\n{statement}  # noqa: E402, F401\n")


def test_the_checkout_keeps_every_contract() -> None:
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        # the cycle this package once had: the stack manager asking Terraform for the deployed outputs
        ("scripts/local/stack.py", "from scripts.deploy import tf", "dev > ops > deploy > local > cli"),
        ("scripts/cli.py", "from scripts.local import stack", "dev > ops > deploy > local > cli"),
        ("scripts/local/event_sources/sqs.py", "from scripts.local import worker", "runners > event sources"),
        ("scripts/deploy/package.py", "from scripts.dev import docs", "dev > ops > deploy > local > cli"),
        ("shared/imgpipe/ids.py", "import scripts.cli", "the library"),
    ],
)
def test_an_import_against_the_layers_is_refused(tree: Path, module: str, statement: str, contract: str) -> None:
    add_import(tree / module, statement)
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in " ".join(broken.split()), result.stdout


def test_a_cycle_between_siblings_is_refused(tree: Path) -> None:
    # deploy.tf imports deploy.plan_summary; the way back closes a cycle inside one layer
    add_import(tree / "scripts/deploy/plan_summary.py", "from scripts.deploy import tf")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "no import cycle" in " ".join(result.stdout.split("Broken contracts", 1)[-1].split())
