"""The matrix file, its resolution, and documents taken from a saved plan (`terraform show -json`), on synthetic
plans: what a plan cannot know yet is undecided, never allowed or denied; Lambda permissions become the
statements Lambda would add; the docs table is rendered from the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts.ops.authz import documents, matrix

ACCOUNT, REGION = "123456789012", "eu-west-1"
PREFIX = "imgpipe-staging"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k1"


def resource(address: str, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"address": address, "mode": "managed", "type": kind, "values": values}


def shown(resources: list[dict[str, Any]], unknown: dict[str, dict[str, bool]] | None = None) -> dict[str, Any]:
    data = [
        {"address": "data.aws_caller_identity.current", "mode": "data", "type": "aws_caller_identity",
         "values": {"account_id": ACCOUNT}},
        {"address": "data.aws_region.current", "mode": "data", "type": "aws_region", "values": {"name": REGION}},
    ]  # fmt: skip
    return {
        "planned_values": {"root_module": {"child_modules": [{"resources": resources}]}},
        "prior_state": {"values": {"root_module": {"resources": data}}},
        "resource_changes": [
            {"address": address, "change": {"after_unknown": attrs}} for address, attrs in (unknown or {}).items()
        ],
    }


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


KMS_ADDRESS = "module.pipeline.module.kms.aws_kms_key.this"
ROOT_ADMIN = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
PROCESSOR = [
    resource("module.pipeline.module.processing.aws_iam_role.this", "aws_iam_role",
             {"name": f"{PREFIX}-image_processor", "arn": f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-image_processor"}),
    resource("module.pipeline.module.processing.aws_iam_role_policy.this", "aws_iam_role_policy",
             {"role": f"{PREFIX}-image_processor", "policy": policy(
                 {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{PREFIX}-raw-*/raw/*"},
                 {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY})}),
    resource("module.pipeline.module.processing.aws_lambda_function.this", "aws_lambda_function",
             {"function_name": f"{PREFIX}-image_processor",
              "role": f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-image_processor"}),
    resource('module.pipeline.module.storage.aws_s3_bucket.this["raw"]', "aws_s3_bucket",
             {"bucket": f"{PREFIX}-raw-{ACCOUNT}"}),
    resource('module.pipeline.module.storage.aws_s3_bucket_server_side_encryption_configuration.this["raw"]',
             "aws_s3_bucket_server_side_encryption_configuration",
             {"bucket": f"{PREFIX}-raw-{ACCOUNT}",
              "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms",
                                                                     "kms_master_key_id": KEY}]}]}),
]  # fmt: skip
READS_RAW = matrix.Edge(
    id="processor-reads-raw",
    principal="function:image_processor",
    action="s3:GetObject",
    resource="object:raw/raw/2026/12/02/x",
    expect="allow",
)


def test_a_plan_over_an_existing_stack_decides_an_edge() -> None:
    key = resource(KMS_ADDRESS, "aws_kms_key", {"arn": KEY, "policy": policy(ROOT_ADMIN)})
    docs = documents.from_plan(shown([key, *PROCESSOR]), PREFIX)
    assert (docs.account, docs.region, docs.key_arn, docs.source) == (ACCOUNT, REGION, KEY, "plan")
    verdict = matrix.evaluate(READS_RAW, matrix.Environment(docs))
    assert verdict.outcome == "allow", verdict.reasons
    assert [r.split(":")[0] + ":" + r.split(":")[1].split(" ")[0] for r in verdict.reasons] == [
        "s3:GetObject",
        "kms:Decrypt",
    ]


def test_a_document_known_only_after_apply_leaves_the_edge_undecided() -> None:
    key = resource(KMS_ADDRESS, "aws_kms_key", {})  # a new key: ARN and policy unknown until apply
    docs = documents.from_plan(shown([key, *PROCESSOR], {KMS_ADDRESS: {"arn": True, "policy": True}}), PREFIX)
    verdict = matrix.evaluate(READS_RAW, matrix.Environment(docs))
    assert verdict.outcome == "undecided" and not verdict.decided
    assert "not among the documents" in verdict.reasons[0]  # the bucket names a key the plan has yet to create

    changed = resource(KMS_ADDRESS, "aws_kms_key", {"arn": KEY})  # an existing key whose policy the plan rewrites
    docs = documents.from_plan(shown([changed, *PROCESSOR], {KMS_ADDRESS: {"policy": True}}), PREFIX)
    verdict = matrix.evaluate(READS_RAW, matrix.Environment(docs))
    assert verdict.outcome == "undecided" and "known only after apply" in verdict.reasons[0]


def test_lambda_permissions_become_the_statements_lambda_adds() -> None:
    function = resource("module.r.aws_lambda_function.this", "aws_lambda_function",
                        {"function_name": f"{PREFIX}-retention_audit", "role": "r",
                         "arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{PREFIX}-retention_audit"})  # fmt: skip
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{PREFIX}-retention_audit"
    permission = resource(
        "module.r.aws_lambda_permission.schedule",
        "aws_lambda_permission",
        {"statement_id": "RunOnSchedule", "action": "lambda:InvokeFunction", "qualifier": "live",
         "function_name": f"{PREFIX}-retention_audit", "principal": "events.amazonaws.com", "source_arn": rule_arn},
    )  # fmt: skip
    rule = resource("module.r.aws_cloudwatch_event_rule.schedule", "aws_cloudwatch_event_rule",
                    {"name": f"{PREFIX}-retention_audit", "arn": rule_arn})  # fmt: skip
    key = resource(KMS_ADDRESS, "aws_kms_key", {"arn": KEY, "policy": policy(ROOT_ADMIN)})
    docs = documents.from_plan(shown([key, function, permission, rule]), PREFIX)
    alias = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{PREFIX}-retention_audit:live"
    assert docs.resource_policies[alias] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RunOnSchedule",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": alias,
                "Condition": {"ArnLike": {"AWS:SourceArn": rule_arn}},
            }
        ],
    }
    edges = {e.id: e for e in matrix.load()}
    verdict = matrix.evaluate(edges["schedule-runs-the-retention-audit"], matrix.Environment(docs))
    assert verdict.outcome == "allow", verdict.reasons


def test_a_plan_that_is_no_imgpipe_root_is_refused() -> None:
    with pytest.raises(documents.DocumentsError, match="aws_caller_identity"):
        documents.from_plan({"planned_values": {"root_module": {}}}, PREFIX)


def test_an_opt_in_principal_missing_here_is_not_applicable_and_a_typo_is_an_error() -> None:
    key = resource(KMS_ADDRESS, "aws_kms_key", {"arn": KEY, "policy": policy(ROOT_ADMIN)})
    env = matrix.Environment(documents.from_plan(shown([key, *PROCESSOR]), PREFIX))
    analyst = matrix.Edge("a", "role:analyst", "s3:GetObject", "object:raw/x", "deny", only_with="role:analyst")
    assert matrix.evaluate(analyst, env).outcome == "n/a"
    typo = matrix.Edge("t", "function:image_procesor", "s3:GetObject", "object:raw/x", "allow")
    with pytest.raises(matrix.MatrixError, match="image_procesor"):
        matrix.evaluate(typo, env)


def test_the_matrix_file_is_checked_when_loaded(tmp_path: Path) -> None:
    edges = matrix.load()
    assert len(edges) == len({e.id for e in edges}) > 40
    twice = tmp_path / "m.yaml"
    twice.write_text(
        "edges:\n" + "  - {id: a, principal: outsider, action: s3:GetObject, resource: key, expect: deny}\n" * 2
    )
    with pytest.raises(matrix.MatrixError, match="used twice"):
        matrix.load(twice)
    maybe = tmp_path / "maybe.yaml"
    maybe.write_text("edges:\n  - {id: a, principal: outsider, action: s3:GetObject, resource: key, expect: maybe}\n")
    with pytest.raises(matrix.MatrixError, match="expect"):
        matrix.load(maybe)


def test_the_docs_table_is_rendered_from_the_file() -> None:
    edges = matrix.load()
    page = matrix.DOCS_PATH.read_text()
    assert matrix.docs_with_matrix(page, edges) == page  # docs/security.md is current (make lint checks it too)
    assert all(f"| `{e.id}` |" in page for e in edges)
    stale = page.replace(f"| `{edges[0].id}` |", "| `renamed` |")
    assert matrix.docs_with_matrix(stale, edges) == page
    with pytest.raises(matrix.MatrixError, match="markers"):
        matrix.docs_with_matrix("# no markers", edges)
