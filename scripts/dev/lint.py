"""`make lint`: every static check, each named as it runs; exits non-zero if any fails.

ruff (lint + format check), mypy (strict on the shared library), terraform fmt and validate on every env,
checkov over terraform/ (zero failed checks; skips are inline with a justification), tflint where installed,
import-linter's contracts (pyproject.toml: the layers of scripts/, no cycles, a library that imports no tooling),
docs/security.md showing the authorization matrix as scripts/ops/authz/matrix.yaml holds it, and every generated
section of the docs (scripts/dev/docs.py: terraform/README.md's module list and checkov skips) as the code has it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from scripts.cli import REPO_ROOT
from scripts.deploy import tf

VENV_BIN = Path(sys.executable).parent
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


def run(label: str, cmd: list[str], cwd: Path = REPO_ROOT, env: dict[str, str] | None = None) -> bool:
    started = time.time()
    print(f"lint: {label} ...", end=" ", flush=True)
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    print(f"{'ok' if out.returncode == 0 else 'FAILED'} ({time.time() - started:.1f}s)", flush=True)
    if out.returncode != 0:
        print((out.stdout + out.stderr).rstrip(), flush=True)
    return out.returncode == 0


def main() -> int:
    results = [
        run("ruff check", [str(VENV_BIN / "ruff"), "check", "."]),
        run("ruff format --check", [str(VENV_BIN / "ruff"), "format", "--check", "--quiet", "."]),
        run("mypy", [str(VENV_BIN / "mypy")]),
        run("import contracts (layers of scripts/, no cycles)", [str(VENV_BIN / "lint-imports"), "--no-cache"]),
        run("terraform fmt -check", [tf.terraform_bin(), "fmt", "-check", "-recursive", "terraform"]),
        run("authorization matrix in docs/security.md", [sys.executable, "-m", "scripts.ops.authz", "--check-docs"]),
        run("generated sections of the docs", [sys.executable, "-m", "scripts.dev.docs", "--check"]),
    ]
    for env in tf.ENVS:
        directory = tf.env_dir(env)
        try:
            # staging/prod have no backend.hcl in a checkout; validation needs no backend anyway
            tf.init(directory, backend=env == "local")
        except tf.TfError as err:
            print(f"lint: terraform init {env} FAILED\n{err}")
            results.append(False)
            continue
        results.append(
            run(
                f"terraform validate envs/{env}",
                [tf.terraform_bin(), f"-chdir={directory}", "validate", "-no-color"],
            )
        )
    results.append(
        run(
            "checkov",
            [
                str(CHECKOV),
                "--directory",
                "terraform",
                "--framework",
                "terraform",
                "--quiet",
                "--compact",
                "--skip-download",
            ],
            # offline: don't fetch the policy-id mapping from the platform (it only prints tracebacks here)
            env={"BC_SKIP_MAPPING": "TRUE"},
        )
    )
    tflint = shutil.which("tflint")
    if tflint:
        config = str(REPO_ROOT / "terraform" / ".tflint.hcl")
        results.append(run("tflint --init", [tflint, "--init", "--config", config], cwd=REPO_ROOT / "terraform"))
        results.append(run("tflint", [tflint, "--recursive", "--config", config], cwd=REPO_ROOT / "terraform"))
    else:
        print("lint: tflint not installed here; skipped (CI on CodeBuild runs it with .tflint.hcl)")
    failed = results.count(False)
    print(f"lint: {failed} of {len(results)} checks failed" if failed else f"lint: all {len(results)} checks ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
