"""Terraform runs around the session's deployed stack that tests read: the same env planned again (with a refresh,
so any drift shows), the env reshaped as staging runs it (planned only), and envs/cicd's pipeline roles applied
into an emulator of their own. Each takes ~25 s, mostly the AWS provider's waits, so conftest starts them in the
background (the roles while the stack is deployed, the plans once it is) instead of on the deployed stack's
worker when a test first asks: that worker is the suite's critical path."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.deploy import tf
from scripts.local import stack
from scripts.ops.authz import documents
from scripts.ops.authz.engine import Role

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


# The pipeline's roles live in another root (envs/cicd), which the module allows for staging and prod only. Their
# documents are made by Terraform itself: envs/cicd for staging, applied (the roles, their policies and what those
# name) into an emulator of its own, read back, and renamed to the local environment, so that the matrix's
# pipeline edges are judged against the deployed stack's key and bucket policies.
CICD_OVERRIDE = """
terraform {
  backend "local" {}
}

provider "aws" {
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = false
  max_retries                 = 3
  endpoints {
    iam  = "%(endpoint)s"
    kms  = "%(endpoint)s"
    logs = "%(endpoint)s"
    s3   = "%(endpoint)s"
    sts  = "%(endpoint)s"
  }
}
"""
CICD_VARIABLES = """
environments = {
  staging = {
    manual_approval = false
    state = {
      bucket      = "imgpipe-staging-tfstate-123456789012-us-east-1"
      key         = "imgpipe/staging/terraform.tfstate"
      region      = "us-east-1"
      kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    }
  }
}
"""


def pipeline_roles_from_terraform(terraform: Path, emulator: stack.StackConfig) -> dict[str, Role]:
    """envs/cicd's roles for staging (in `terraform`, a copy of the tree), applied into an emulator of their own
    and read back. Needs nothing of the deployed stack: it runs while that is deployed."""
    directory = terraform / "envs" / "cicd"
    with stack.running(emulator, log=lambda _msg: None) as cfg:
        (directory / "emulator_override.tf").write_text(CICD_OVERRIDE % {"endpoint": cfg.aws_endpoint})
        (directory / "emulator.auto.tfvars").write_text(CICD_VARIABLES)
        environ = {**tf.run_env("local", cfg), "TF_IN_AUTOMATION": "1"}
        tf.init(directory, environ=environ)
        targets = [
            f'-target=module.cicd["staging"].{r}'
            for r in ("aws_iam_role_policy.build", "aws_iam_role_policy_attachment.plan_read_only")
        ]
        subprocess.run(
            [
                tf.terraform_bin(),
                f"-chdir={directory}",
                "apply",
                "-input=false",
                "-auto-approve",
                "-no-color",
                *targets,
            ],
            env=environ,
            check=True,
            capture_output=True,
        )
        return documents.roles_from_aws(stack.aws_client(cfg, "iam"), "imgpipe-staging")
