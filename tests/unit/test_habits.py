"""The field's habits, kept true by tests: pre-commit runs exactly make lint's checks (defined once), the commit
message rules, the dependency-update configuration covering every pinned thing, and the files a project ships."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from scripts.cli import REPO_ROOT
from scripts.deploy import package
from scripts.dev import commit_msg, lint


def hooks() -> list[dict[str, object]]:
    config = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def test_pre_commit_runs_every_check_of_make_lint_by_its_id() -> None:
    pre_commit = [h for h in hooks() if "commit-msg" not in h.get("stages", [])]  # type: ignore[operator]
    assert sorted(h["id"] for h in pre_commit) == sorted(lint.CHECKS)  # type: ignore[type-var]
    for hook in pre_commit:
        assert hook["entry"] == f".venv/bin/python -m scripts.dev.lint --only {hook['id']}"
        assert hook["language"] == "system" and hook["pass_filenames"] is False


def test_the_commit_message_hook_runs_the_rules() -> None:
    [hook] = [h for h in hooks() if h["id"] == "commit-msg"]
    assert hook["stages"] == ["commit-msg"]
    assert hook["entry"] == ".venv/bin/python -m scripts.dev.commit_msg"


def test_the_pre_commit_config_is_valid() -> None:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "pre-commit"), "validate-config", ".pre-commit-config.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_lint_names_an_unknown_check_instead_of_running_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert lint.main(["--only", "ruff,spelling"]) == 2
    assert "spelling" in capsys.readouterr().err


def test_lint_runs_its_checks_at_once_and_prints_each_failure_whole(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    both_started = threading.Barrier(2, timeout=10)  # one after another, the first check would wait here alone

    def check(label: str, script: str) -> list[bool]:
        both_started.wait()
        return [lint.run(label, [sys.executable, "-c", script])]

    monkeypatch.setattr(
        lint,
        "CHECKS",
        {
            "good": lambda: check("good", "pass"),
            "bad": lambda: check("bad", "import sys; print('line one'); print('line two'); sys.exit(1)"),
        },
    )
    assert lint.main([]) == 1
    out = capsys.readouterr().out
    assert "lint: good ... ok" in out
    assert re.search(r"lint: bad \.\.\. FAILED \(\d+\.\ds\)\nline one\nline two\n", out), out
    assert "lint: 1 of 2 checks failed" in out


IMPERATIVE = ": use the imperative (e.g. 'Add', 'Fix')"
GOOD = "Bound the engine's work per image\n\nA 50,000-page TIFF held a worker for minutes.\n"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (GOOD, []),
        ("# only a comment\n\n", ["the message is empty"]),
        ("Add x" + "y" * 68 + "\n\nbecause.\n", ["the subject has 73 characters (at most 72)"]),
        ("Add a thing.\n\nbecause.\n", ["the subject ends with a period"]),
        ("Added a thing\n\nbecause.\n", ["the subject starts with 'Added'" + IMPERATIVE]),
        (
            "Fixes the gateway\n\nbecause.\n",
            ["the subject starts with 'Fixes'" + IMPERATIVE],
        ),
        ("Embed the schema\n\nbecause.\n", []),
        ("Add a thing\n", ["no body: after a blank line, say why the change is made"]),
        ("Add a thing\nno blank line\n", ["no body: after a blank line, say why the change is made"]),
        ("Merge branch 'x' into main\n", []),
        ("fixup! Add a thing\n", []),
    ],
)
def test_commit_message_rules(message: str, expected: list[str]) -> None:
    assert commit_msg.problems(message) == expected


def test_the_hook_fails_a_bad_message_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_text(GOOD + "# Please enter the commit message for your changes.\n")
    bad.write_text("Changed stuff\n")
    assert commit_msg.main([str(good)]) == 0
    assert commit_msg.main([str(bad)]) == 1
    assert "Changed" in capsys.readouterr().err
    assert commit_msg.main([str(tmp_path / "absent")]) == 2


def test_renovate_covers_the_locks_the_provider_and_the_pipeline_tools() -> None:
    config = json.loads((REPO_ROOT / "renovate.json").read_text())
    lock_patterns = [p.strip("/") for p in config["pip_requirements"]["managerFilePatterns"]]
    for lock in (REPO_ROOT / "requirements").glob("*.lock"):
        assert any(re.search(p, f"requirements/{lock.name}") for p in lock_patterns), lock.name
    assert "terraform" in config  # provider constraints and .terraform.lock.hcl
    pinned = {m["depNameTemplate"]: m for m in config["customManagers"]}
    assert set(pinned) == {"hashicorp/terraform", "terraform-linters/tflint"}
    variables = (REPO_ROOT / "terraform/modules/cicd/variables.tf").read_text()
    for name, manager in pinned.items():
        found = re.search(manager["matchStrings"][0].replace("(?<", "(?P<"), variables)
        assert found and re.fullmatch(r"\d+\.\d+\.\d+", found["currentValue"]), name


def test_the_bootstrap_lock_pins_the_uv_that_dev_lock_pins() -> None:
    """pip installs uv from bootstrap.lock, and uv then installs dev.lock, which pins uv too: a bump of one alone
    (a Renovate update of a single file) would leave two uvs fighting over the virtualenv."""
    bootstrap = package.read_locked(REPO_ROOT / "requirements" / "bootstrap.lock")
    dev = package.read_locked(REPO_ROOT / "requirements" / "dev.lock")
    assert set(bootstrap) == {"uv"}
    assert bootstrap["uv"] == dev["uv"]  # same version, same file hashes
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "pip install --quiet --disable-pip-version-check --require-hashes -r requirements/bootstrap.lock" in makefile
    assert makefile.count("$(UV) pip install --quiet --python") == 2  # dev.lock and checkov.lock


def test_the_license_pyproject_claims_is_shipped() -> None:
    assert 'license = { text = "Apache-2.0" }' in (REPO_ROOT / "pyproject.toml").read_text()
    text = (REPO_ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
