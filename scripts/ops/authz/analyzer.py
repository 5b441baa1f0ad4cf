"""IAM Access Analyzer over every policy of a saved plan — the one check here that asks AWS itself.

    python -m scripts.ops.authz.analyzer staging [--plan terraform/envs/staging/staging.tfplan]
    python -m scripts.ops.authz.analyzer staging --field new-access     # one line for the approval, from the report

ValidatePolicy runs on each identity, trust, key, bucket, queue, topic and secret policy the plan would leave
deployed; an ERROR or SECURITY_WARNING finding fails the run (WARNING and SUGGESTION findings are printed).
CheckNoNewAccess compares each changed policy with the one deployed now: what grants new access is listed
(for the approver, not a failure: a change may mean to). A policy the plan cannot know before apply is skipped
and said to be. The report is saved beside the plan (<plan>.access-analyzer.json). Runs in the pipeline's plan
stage with the plan role's credentials (docs/operations.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.cli import fail

# Terraform attribute holding a policy, per resource type: (attribute, Access Analyzer policy type, resource type)
POLICY_ATTRIBUTES: dict[str, tuple[str, str, str | None]] = {
    "aws_iam_role_policy": ("policy", "IDENTITY_POLICY", None),
    "aws_iam_policy": ("policy", "IDENTITY_POLICY", None),
    "aws_iam_role": ("assume_role_policy", "RESOURCE_POLICY", "AWS::IAM::AssumeRolePolicyDocument"),
    "aws_s3_bucket_policy": ("policy", "RESOURCE_POLICY", "AWS::S3::Bucket"),
    "aws_kms_key": ("policy", "RESOURCE_POLICY", None),
    "aws_sqs_queue_policy": ("policy", "RESOURCE_POLICY", None),
    "aws_sns_topic_policy": ("policy", "RESOURCE_POLICY", None),
    "aws_secretsmanager_secret_policy": ("policy", "RESOURCE_POLICY", None),
}
FAILING = frozenset({"ERROR", "SECURITY_WARNING"})


@dataclass(frozen=True)
class PlannedPolicy:
    address: str
    policy_type: str
    resource_type: str | None
    document: str | None  # None: known only after apply
    deployed: str | None  # the document in the state now, or None for a new resource


@dataclass(frozen=True)
class Finding:
    address: str
    kind: str  # ERROR, SECURITY_WARNING, WARNING, SUGGESTION
    issue: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.address}: {self.issue}: {self.detail}"


def _resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _resources(child)


def planned_policies(shown: Mapping[str, Any]) -> list[PlannedPolicy]:
    """Every policy document in `terraform show -json` of a saved plan, with the one deployed before it."""
    prior = {
        r["address"]: r.get("values", {})
        for r in _resources(shown.get("prior_state", {}).get("values", {}).get("root_module", {}))
    }
    unknown = {c["address"]: c["change"].get("after_unknown") or {} for c in shown.get("resource_changes", [])}
    found = []
    for resource in _resources(shown.get("planned_values", {}).get("root_module", {})):
        spec = POLICY_ATTRIBUTES.get(resource["type"])
        if spec is None or resource.get("mode", "managed") != "managed":
            continue
        attribute, policy_type, resource_type = spec
        address = resource["address"]
        document = None if unknown.get(address, {}).get(attribute) else resource["values"].get(attribute)
        found.append(
            PlannedPolicy(address, policy_type, resource_type, document, prior.get(address, {}).get(attribute))
        )
    return found


def validate(client: Any, policy: PlannedPolicy) -> list[Finding]:
    kwargs: dict[str, Any] = {"policyDocument": policy.document, "policyType": policy.policy_type}
    if policy.resource_type:
        kwargs["validatePolicyResourceType"] = policy.resource_type
    findings = []
    for page in client.get_paginator("validate_policy").paginate(**kwargs):
        for f in page.get("findings", []):
            findings.append(Finding(policy.address, f["findingType"], f["issueCode"], f["findingDetails"]))
    return findings


def new_access(client: Any, policy: PlannedPolicy) -> str | None:
    """Why the changed policy grants access the deployed one did not, or None when it grants nothing new."""
    if policy.deployed is None or policy.document is None or _same(policy.document, policy.deployed):
        return None
    answer = client.check_no_new_access(
        newPolicyDocument=policy.document, existingPolicyDocument=policy.deployed, policyType=policy.policy_type
    )
    if answer["result"] == "PASS":
        return None
    reasons = "; ".join(r.get("description", "") for r in answer.get("reasons", [])) or answer.get("message", "")
    return f"{policy.address}: {reasons}"


def _same(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


@dataclass
class Report:
    checked: int
    skipped: list[str]
    findings: list[Finding]
    new_access: list[str]

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.kind in FAILING]

    def to_json(self) -> str:
        findings = [f.__dict__ for f in self.findings]
        return json.dumps({"checked": self.checked, "skipped": self.skipped, "findings": findings,
                           "new_access": self.new_access}, indent=2)  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> Report:
        data = json.loads(text)
        findings = [Finding(**f) for f in data["findings"]]
        return cls(data["checked"], data["skipped"], findings, data["new_access"])


def report_path(planfile: Path) -> Path:
    return planfile.with_name(planfile.name + ".access-analyzer.json")


def check(client: Any, policies: list[PlannedPolicy]) -> Report:
    report = Report(0, [], [], [])
    for policy in policies:
        if policy.document is None:
            report.skipped.append(policy.address)
            continue
        report.checked += 1
        report.findings += validate(client, policy)
        reason = new_access(client, policy)
        if reason:
            report.new_access.append(reason)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.ops.authz.analyzer", description=__doc__.split("\n\n")[0])
    parser.add_argument("env", choices=["staging", "prod", "cicd", "local"])
    parser.add_argument("--plan", type=Path, help="the saved plan (default terraform/envs/ENV/ENV.tfplan) or its JSON")
    parser.add_argument("--field", choices=["new-access"], help="print one line for the approval and exit 0")
    args = parser.parse_args(argv)
    from scripts.deploy import tf
    from scripts.ops.authz.__main__ import _shown

    planfile = args.plan or tf.env_dir(args.env) / f"{args.env}.tfplan"
    if args.field == "new-access":
        if not report_path(planfile).is_file():
            print("not checked")
            return 0
        saved = Report.from_json(report_path(planfile).read_text())
        print(f"{len(saved.new_access)} changed policies grant new access" if saved.new_access else "none")
        return 0
    if not planfile.is_file():
        return fail(f"no saved plan at {planfile}: run `make plan ENV={args.env}` first")
    import boto3

    report = check(boto3.client("accessanalyzer"), planned_policies(_shown(planfile)))
    report_path(planfile).write_text(report.to_json() + "\n")
    print(f"access analyzer: {report.checked} policies validated, {len(report.skipped)} known only after apply")
    for finding in report.findings:
        print(f"  {finding}")
    for address in report.skipped:
        print(f"  skipped (known after apply): {address}")
    for reason in report.new_access:
        print(f"  new access: {reason}")
    if report.failed:
        print(
            f"access analyzer: {len(report.failed)} errors or security warnings: the plan is refused", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
