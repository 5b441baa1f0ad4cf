"""IAM Access Analyzer in the plan stage, against responses recorded in AWS's shapes (botocore's Stubber holds
each request and response to the service model): every policy of a saved plan validated, errors and security
warnings refuse the plan, changed policies compared with the deployed ones, unknown ones skipped and said."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from scripts.ops.authz import analyzer

RESPONSES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "accessanalyzer" / "responses.json").read_text()
)
ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
    }
)
WIDER = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"},
]})  # fmt: skip
LAMBDA = {"Service": "lambda.amazonaws.com"}
TRUST = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": LAMBDA, "Action": "sts:AssumeRole"}]}
)


def shown() -> dict[str, Any]:
    role = "module.pipeline.module.processing.aws_iam_role.this"
    role_policy = "module.pipeline.module.processing.aws_iam_role_policy.this"
    bucket_policy = 'module.pipeline.module.storage.aws_s3_bucket_policy.this["raw"]'
    resources = [
        {"address": role, "mode": "managed", "type": "aws_iam_role", "values": {"assume_role_policy": TRUST}},
        {"address": role_policy, "mode": "managed", "type": "aws_iam_role_policy", "values": {"policy": WIDER}},
        {"address": bucket_policy, "mode": "managed", "type": "aws_s3_bucket_policy", "values": {}},
        {"address": "module.pipeline.aws_s3_bucket.x", "mode": "managed", "type": "aws_s3_bucket", "values": {}},
    ]
    return {
        "planned_values": {"root_module": {"child_modules": [{"resources": resources}]}},
        "prior_state": {
            "values": {
                "root_module": {
                    "resources": [
                        {
                            "address": role,
                            "mode": "managed",
                            "type": "aws_iam_role",
                            "values": {"assume_role_policy": TRUST},
                        },
                        {
                            "address": role_policy,
                            "mode": "managed",
                            "type": "aws_iam_role_policy",
                            "values": {"policy": ROLE_POLICY},
                        },
                    ]
                }
            }
        },
        "resource_changes": [{"address": bucket_policy, "change": {"after_unknown": {"policy": True}}}],
    }


@pytest.fixture
def client() -> Any:
    return boto3.client("accessanalyzer", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")


def test_every_policy_of_the_plan_is_found_with_its_type_and_what_is_deployed() -> None:
    policies = analyzer.planned_policies(shown())  # the bucket itself holds no policy: not listed
    assert [(p.policy_type, p.resource_type) for p in policies] == [
        ("RESOURCE_POLICY", "AWS::IAM::AssumeRolePolicyDocument"),
        ("IDENTITY_POLICY", None),
        ("RESOURCE_POLICY", "AWS::S3::Bucket"),
    ]
    assert policies[1].deployed == ROLE_POLICY and policies[1].document == WIDER
    assert policies[2].document is None  # known only after apply


def test_a_clean_plan_passes_and_new_access_is_listed_for_the_approver(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_response(
            "validate_policy",
            RESPONSES["validate_clean"],
            {"policyDocument": TRUST, "policyType": "RESOURCE_POLICY",
             "validatePolicyResourceType": "AWS::IAM::AssumeRolePolicyDocument"},
        )  # fmt: skip
        stub.add_response(
            "validate_policy", RESPONSES["validate_clean"], {"policyDocument": WIDER, "policyType": "IDENTITY_POLICY"}
        )
        stub.add_response(
            "check_no_new_access",
            RESPONSES["new_access"],
            {"newPolicyDocument": WIDER, "existingPolicyDocument": ROLE_POLICY, "policyType": "IDENTITY_POLICY"},
        )
        report = analyzer.check(client, analyzer.planned_policies(shown()))
        stub.assert_no_pending_responses()
    assert report.checked == 2 and report.failed == []
    assert report.skipped == ['module.pipeline.module.storage.aws_s3_bucket_policy.this["raw"]']
    assert report.new_access == [
        "module.pipeline.module.processing.aws_iam_role_policy.this: New access in the statement with index: 1."
    ]


@pytest.mark.parametrize(("response", "fails"), [("validate_passrole_star", True), ("validate_invalid_action", True)])
def test_errors_and_security_warnings_refuse_the_plan(client: Any, response: str, fails: bool) -> None:
    policy = analyzer.PlannedPolicy("aws_iam_role_policy.x", "IDENTITY_POLICY", None, ROLE_POLICY, ROLE_POLICY)
    with Stubber(client) as stub:
        stub.add_response(
            "validate_policy", RESPONSES[response], {"policyDocument": ROLE_POLICY, "policyType": "IDENTITY_POLICY"}
        )
        report = analyzer.check(client, [policy])
    assert bool(report.failed) is fails
    kinds = [f.kind for f in report.findings]
    assert "SUGGESTION" not in [f.kind for f in report.failed] and kinds  # suggestions are shown, never refuse


def test_an_unchanged_policy_is_not_compared(client: Any) -> None:
    same = analyzer.PlannedPolicy(
        "aws_kms_key.k", "RESOURCE_POLICY", None, ROLE_POLICY, json.dumps(json.loads(ROLE_POLICY), indent=1)
    )
    with Stubber(client) as stub:
        stub.add_response(
            "validate_policy",
            RESPONSES["validate_clean"],
            {"policyDocument": ROLE_POLICY, "policyType": "RESOURCE_POLICY"},
        )
        assert analyzer.check(client, [same]).new_access == []  # no check_no_new_access call was stubbed


def test_the_cli_saves_its_report_and_the_approval_line_reads_it(
    tmp_path: Path, client: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    planfile = tmp_path / "staging.tfplan.json"
    planfile.write_text(json.dumps(shown()))
    monkeypatch.setattr(boto3, "client", lambda service, **_: client)
    with Stubber(client) as stub:
        stub.add_response("validate_policy", RESPONSES["validate_clean"])
        stub.add_response("validate_policy", RESPONSES["validate_invalid_action"])
        stub.add_response("check_no_new_access", RESPONSES["no_new_access"])
        assert analyzer.main(["staging", "--plan", str(planfile)]) == 1
    out = capsys.readouterr()
    assert "2 policies validated, 1 known only after apply" in out.out and "INVALID_ACTION" in out.out
    assert "refused" in out.err
    assert analyzer.main(["staging", "--plan", str(planfile), "--field", "new-access"]) == 0
    assert capsys.readouterr().out.strip() == "none"
