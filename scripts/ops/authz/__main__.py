"""Evaluate the authorization matrix over an environment's real policy documents.

    python -m scripts.ops.authz                      # ENV=local: read back from the emulator after `make up`
    python -m scripts.ops.authz --env staging        # read back from the account (the usual AWS credentials)
    python -m scripts.ops.authz --plan staging.tfplan [--plan cicd.json] --prefix imgpipe-staging
                                                 # the documents a saved plan would leave (terraform show -json)
    python -m scripts.ops.authz --markdown           # the matrix as the table docs/security.md shows

Exit status: 0 when every edge holds (n/a edges are about opt-in features this environment lacks), 1 when one
does not, 2 when the documents cannot be read. Edges a plan cannot decide before apply are listed; --strict makes
them fail too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from scripts.cli import command
from scripts.ops.authz import documents, matrix


def _shown(path: Path) -> dict[str, Any]:
    """A saved plan as `terraform show -json` prints it (a .json file is taken as already shown)."""
    if path.suffix == ".json":
        return dict(json.loads(path.read_text()))
    from scripts.deploy import tf

    out = subprocess.run(
        [tf.terraform_bin(), f"-chdir={path.resolve().parent}", "show", "-json", str(path.resolve())],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise documents.DocumentsError(f"terraform show -json {path} failed: {out.stderr.strip()}")
    return dict(json.loads(out.stdout))


def environment_from_outputs(docs: documents.Documents, outputs: dict[str, Any]) -> matrix.Environment:
    """The documents with what only the deployment names: the pipeline's `perimeter` output."""
    perimeter = outputs.get("perimeter") or {}
    features = {name for name, on in (perimeter.get("features") or {}).items() if on}
    return matrix.Environment(
        docs,
        perimeter.get("break_glass_role_arn"),
        frozenset(features),
        tuple(perimeter.get("deployer_role_arns") or ()),
    )


def load_environment(args: argparse.Namespace) -> matrix.Environment:
    prefix = args.prefix or f"imgpipe-{args.env}"
    if args.plan:
        shown = [_shown(p) for p in args.plan]
        docs = documents.merge([documents.from_plan(s, prefix) for s in shown])
        outputs = documents.plan_outputs(shown[0])
        return environment_from_outputs(docs, outputs)
    from scripts.deploy import tf
    from scripts.local import stack

    if args.env == "local":
        cfg = stack.StackConfig.from_env()
        outputs = tf.outputs("local", tf.run_env("local", cfg))

        def client(service: str) -> Any:
            return stack.aws_client(cfg, service)

        source = "emulator"
    else:
        import boto3

        try:
            outputs = tf.outputs(args.env, tf.run_env(args.env))
        except tf.TfError:
            outputs = {}

        def client(service: str) -> Any:
            return boto3.client(service)

        source = "aws"
    declared = (outputs.get("authorization") or {}).get("bucket_policies")
    docs = documents.from_aws(client, prefix, declared_bucket_policies=declared)
    docs.source = source
    return environment_from_outputs(docs, outputs)


def report(verdicts: list[matrix.Verdict], verbose: bool) -> list[str]:
    lines = []
    for v in verdicts:
        mark = (
            "ok  " if v.holds and v.decided else "n/a " if v.outcome == "n/a" else "??  " if not v.decided else "FAIL"
        )
        lines.append(f"{mark} {v.edge.id}: expected {v.edge.expect}, {v.outcome}")
        if verbose or not v.holds or not v.decided:
            lines += [f"       {reason}" for reason in v.reasons]
    return lines


@command(documents.DocumentsError, matrix.MatrixError)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.ops.authz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="local", choices=["local", "staging", "prod"])
    parser.add_argument("--plan", type=Path, action="append", help="a saved plan or its `terraform show -json`")
    parser.add_argument("--prefix", help="the environment's name prefix (default imgpipe-<env>)")
    parser.add_argument("--matrix", type=Path, default=matrix.MATRIX_PATH)
    parser.add_argument("--strict", action="store_true", help="edges a plan cannot decide yet fail too")
    parser.add_argument("--verbose", "-v", action="store_true", help="the deciding statement of every edge")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="print the matrix as a Markdown table and exit")
    parser.add_argument("--write-docs", action="store_true", help="render the matrix into docs/security.md")
    parser.add_argument("--check-docs", action="store_true", help="fail when docs/security.md shows another matrix")
    args = parser.parse_args(argv)

    edges = matrix.load(args.matrix)
    if args.markdown:
        print(matrix.markdown(edges), end="")
        return 0
    if args.write_docs or args.check_docs:
        current = matrix.DOCS_PATH.read_text()
        wanted = matrix.docs_with_matrix(current, edges)
        if args.write_docs:
            matrix.DOCS_PATH.write_text(wanted)
        elif wanted != current:
            print(
                "docs/security.md shows another matrix than scripts/ops/authz/matrix.yaml: "
                "run python -m scripts.ops.authz --write-docs",
                file=sys.stderr,
            )
            return 1
        return 0
    env = load_environment(args)
    verdicts = matrix.evaluate_all(edges, env)
    failed = [v for v in verdicts if v.decided and not v.holds]
    undecided = [v for v in verdicts if v.outcome == "undecided"]
    if args.json:
        print(
            json.dumps(
                [
                    {"id": v.edge.id, "expect": v.edge.expect, "outcome": v.outcome, "reasons": v.reasons}
                    for v in verdicts
                ],
                indent=2,
            )
        )
    else:
        print("\n".join(report(verdicts, args.verbose)))
        counts = {o: sum(v.outcome == o for v in verdicts) for o in ("allow", "deny", "n/a", "undecided")}
        print(
            f"{env.documents.prefix} ({env.documents.source}): {len(verdicts)} edges, {len(failed)} failing, "
            f"{counts['n/a']} n/a, {counts['undecided']} undecided"
        )
    return 1 if failed or (args.strict and undecided) else 0


if __name__ == "__main__":
    sys.exit(main())
