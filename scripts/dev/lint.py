"""`make lint`: every static check, each named as it runs; exits non-zero if any fails.

    python -m scripts.dev.lint                 every check (make lint)
    python -m scripts.dev.lint --only ruff,mypy   some of them (the pre-commit hooks call it this way)

ruff (lint + format check), mypy (strict on the shared library), import-linter's contracts (pyproject.toml: the
layers of scripts/, no cycles, a library that imports no tooling), terraform fmt and validate on every env,
checkov over terraform/ (zero failed checks; skips are inline with a justification), tflint where installed,
hadolint over the container images' Dockerfiles,
docs/security.md showing the authorization matrix as scripts/ops/authz/matrix.yaml holds it, and every generated
section of the docs (scripts/dev/docs.py: module tables, the module list, checkov skips) as the code has it.
The checks are defined once, here: .pre-commit-config.yaml runs each of them by its id. They run at once
(57 s one after another → about 30 s on two cores).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scripts.cli import REPO_ROOT, CliError, command
from scripts.deploy import tf

VENV_BIN = Path(sys.executable).parent
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


# The checks run at once (they are subprocesses, so threads suffice): each prints its line, and a failure's output,
# in one piece when it ends.
_PRINTING = threading.Lock()


def say(text: str) -> None:
    with _PRINTING:
        print(text, flush=True)


def run(label: str, cmd: list[str], cwd: Path = REPO_ROOT, env: dict[str, str] | None = None) -> bool:
    started = time.time()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    line = f"lint: {label} ... {'ok' if out.returncode == 0 else 'FAILED'} ({time.time() - started:.1f}s)"
    say(line if out.returncode == 0 else f"{line}\n{(out.stdout + out.stderr).rstrip()}")
    return out.returncode == 0


def terraform_validate() -> list[bool]:
    results = []
    for env in tf.ENVS:
        directory = tf.env_dir(env)
        try:
            # staging/prod have no backend.hcl in a checkout; validation needs no backend anyway
            tf.init(directory, backend=env == "local")
        except tf.TfError as err:
            say(f"lint: terraform init {env} FAILED\n{err}")
            results.append(False)
            continue
        results.append(
            run(f"terraform validate envs/{env}", [tf.terraform_bin(), f"-chdir={directory}", "validate", "-no-color"])
        )
    return results


def checkov() -> list[bool]:
    argv = [str(CHECKOV), "--directory", "terraform", "--framework", "terraform", "--quiet", "--compact"]
    # offline: don't fetch the policy-id mapping from the platform (it only prints tracebacks here)
    return [run("checkov", [*argv, "--skip-download"], env={"BC_SKIP_MAPPING": "TRUE"})]


def tflint() -> list[bool]:
    binary = shutil.which("tflint")
    if not binary:
        say("lint: tflint not installed here; skipped (CI on CodeBuild runs it with .tflint.hcl)")
        return []
    config = str(REPO_ROOT / "terraform" / ".tflint.hcl")
    return [
        run("tflint --init", [binary, "--init", "--config", config], cwd=REPO_ROOT / "terraform"),
        run("tflint", [binary, "--recursive", "--config", config], cwd=REPO_ROOT / "terraform"),
    ]


def _single(label: str, argv: Callable[[], list[str]]) -> Callable[[], list[bool]]:
    return lambda: [run(label, argv())]


# id -> the check; the ids are what `--only` and the pre-commit hooks name.
CHECKS: dict[str, Callable[[], list[bool]]] = {
    "ruff": _single("ruff check", lambda: [str(VENV_BIN / "ruff"), "check", "."]),
    "ruff-format": _single(
        "ruff format --check", lambda: [str(VENV_BIN / "ruff"), "format", "--check", "--quiet", "."]
    ),
    "mypy": _single("mypy", lambda: [str(VENV_BIN / "mypy")]),
    "import-contracts": _single(
        "import contracts (layers of scripts/, no cycles)", lambda: [str(VENV_BIN / "lint-imports"), "--no-cache"]
    ),
    "terraform-fmt": _single(
        "terraform fmt -check", lambda: [tf.terraform_bin(), "fmt", "-check", "-recursive", "terraform"]
    ),
    "authz-docs": _single(
        "authorization matrix in docs/security.md", lambda: [sys.executable, "-m", "scripts.ops.authz", "--check-docs"]
    ),
    "generated-docs": _single(
        "generated sections of the docs", lambda: [sys.executable, "-m", "scripts.dev.docs", "--check"]
    ),
    "hadolint": _single(
        "hadolint (containers/*/Dockerfile)",
        lambda: [str(VENV_BIN / "hadolint"), *sorted(str(p) for p in (REPO_ROOT / "containers").glob("*/Dockerfile"))],
    ),
    "terraform-validate": terraform_validate,
    "checkov": checkov,
    "tflint": tflint,
}


@command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.dev.lint", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated check ids: {', '.join(CHECKS)}")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(CHECKS)
    unknown = [name for name in chosen if name not in CHECKS]
    if unknown:
        raise CliError(f"unknown check(s) {unknown}: choose from {', '.join(CHECKS)}")
    started = time.time()
    # terraform validate keeps its envs one after another: their inits may share a TF_PLUGIN_CACHE_DIR, which
    # Terraform does not lock.
    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        results = [ok for outcome in pool.map(lambda name: CHECKS[name](), chosen) for ok in outcome]
    print(f"lint: {len(chosen)} checks ran at once in {time.time() - started:.1f}s")
    failed = results.count(False)
    print(f"lint: {failed} of {len(results)} checks failed" if failed else f"lint: all {len(results)} checks ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
