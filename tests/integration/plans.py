"""Plans of the session's deployed stack that tests read: the same env planned again (with a refresh, so any drift
shows), and the env reshaped as staging runs it (planned only). Each is a whole plan of ~220 resources, ~25 s
mostly spent in the AWS provider's waits, so conftest starts them in the background as soon as the stack is
deployed instead of on the deployed stack's worker when a test first asks (that worker is the suite's critical
path)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.deploy import tf

# The fixtures (tests/integration/conftest.py) by which tests read each plan: what the deploy starts in the
# background when a selected test asks for it.
PLANS_READ_BY = ("second_plan", "staging_shape_plan")

# What envs/local relaxes and staging keeps, plus the opt-in features the emulator cannot hold: bucket policies
# attached, Malware Protection on, QuickSight on.
STAGING_SHAPE = (
    ("enforce_bucket_policy = false", "enforce_bucket_policy = true"),
    ("malware_protection     = false", "malware_protection     = true"),
    (
        "  analyst_principal_arns =",
        '  quicksight = { principal_arn = "arn:aws:quicksight:us-east-1:123456789012:user/default/analyst",\n'
        '    tenant_groups = { "arn:aws:quicksight:us-east-1:123456789012:group/default/it" = ["it"] } }\n'
        "  analyst_principal_arns =",
    ),
)


@dataclass(frozen=True)
class SecondPlan:
    changed: bool
    planfile: Path
    shown: dict[str, Any]  # `terraform show -json` of the saved plan


def shown(directory: Path, environ: dict[str, str], planfile: Path) -> dict[str, Any]:
    out = subprocess.run(
        [tf.terraform_bin(), f"-chdir={directory}", "show", "-json", str(planfile)],
        env=environ,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout))


def plan_again(root: Path, environ: dict[str, str]) -> SecondPlan:
    planfile = root / "again.tfplan"
    changed = tf.plan("local", environ, planfile, root=root)
    return SecondPlan(changed, planfile, shown(tf.env_dir("local", root), environ, planfile))


def reshape_as_staging(root: Path) -> Path:
    """A copy of the deployed env (its state included) with staging's settings; taken before any other plan of
    the env starts, so the copy never holds another plan's state lock."""
    local = tf.env_dir("local", root)
    shaped = local.parent / "local-staging-shape"
    shutil.copytree(local, shaped, ignore=shutil.ignore_patterns("*.tfplan*"))
    main = (shaped / "main.tf").read_text()
    for relaxed, kept in STAGING_SHAPE:
        assert relaxed in main, f"envs/local/main.tf no longer says {relaxed.strip()!r}: update STAGING_SHAPE"
        main = main.replace(relaxed, kept)
    (shaped / "main.tf").write_text(main)
    return shaped


def plan_shaped(shaped: Path, environ: dict[str, str]) -> dict[str, Any]:
    # No refresh: this session applied the state minutes ago and the second plan proves it matches the
    # emulator; reading ~220 resources back again would only repeat that.
    planfile = shaped / "shaped.tfplan"
    subprocess.run(
        [
            tf.terraform_bin(),
            f"-chdir={shaped}",
            "plan",
            "-input=false",
            "-no-color",
            "-refresh=false",
            f"-out={planfile}",
        ],
        env=environ,
        check=True,
        capture_output=True,
    )
    return shown(shaped, environ, planfile)
