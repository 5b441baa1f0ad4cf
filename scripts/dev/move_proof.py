"""Proof that a refactoring of the Terraform keeps an existing deployment: nothing destroyed, nothing replaced.

    python -m scripts.dev.move_proof --from dc1151b       (about 3 minutes)

Applies terraform/envs/local as it was at the given revision to a fresh local stack (its own emulator and broker
on free ports), then plans the working tree's terraform/ against that state. `moved` blocks are what make a
module refactoring safe; this shows the plan AWS would get, on the emulator. Exit 0 only when the plan has no
delete and no replace; the plan's summary is printed either way.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.cli import REPO_ROOT, CliError, command
from scripts.deploy import package, plan_summary, tf
from scripts.local import stack


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tree(root: Path, revision: str | None) -> None:
    """terraform/ of a revision (or of the working tree) and the function zips its envs read, under root."""
    root.mkdir(parents=True)
    if revision is None:
        shutil.copytree(
            REPO_ROOT / "terraform",
            root / "terraform",
            ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfplan*"),
        )
    else:
        archive = subprocess.run(
            ["git", "archive", revision, "terraform"], cwd=REPO_ROOT, capture_output=True, check=False
        )
        if archive.returncode != 0:
            raise CliError(f"cannot read terraform/ at {revision}: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    package.build(REPO_ROOT / "lambdas", root / "dist" / "lambda", "arm64")


@command(tf.TfError, stack.StackError, package.PackageError)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.dev.move_proof", description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="revision", required=True, help="a revision from before the refactoring")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="move-proof-") as work:
        before, after = Path(work, "before"), Path(work, "after")
        _tree(before, args.revision)
        _tree(after, None)
        cfg = stack.StackConfig(
            run_dir=Path(work, "run"),
            moto_port=_free_port(),
            kafka_port=_free_port(),
            api_port=_free_port(),
            worker_port=_free_port(),
        )
        with stack.running(cfg, log=lambda _line: None):
            environ = tf.run_env("local", cfg)
            print(f"==> applying envs/local of {args.revision} to a fresh emulator", flush=True)
            tf.deploy("local", environ, auto_approve=True, root=before, log=Path(work, "apply.log"))
            shutil.copy(tf.env_dir("local", before) / "terraform.tfstate", tf.env_dir("local", after))
            print("==> planning the working tree against that state", flush=True)
            planfile = tf.env_dir("local", after) / "proof.tfplan"
            tf.plan("local", environ, planfile, root=after)
            summary = (
                tf.read_saved_plan(tf.env_dir("local", after), planfile, environ)
                if planfile.is_file()
                else plan_summary.Summary()
            )
    lost = [c for c in summary.changes if c.action in ("delete", "replace")]
    print(f"move proof: {summary.headline()}")
    for change in lost:
        print(f"  {change.action} {change.address}", file=sys.stderr)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
