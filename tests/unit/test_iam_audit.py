"""The least-privilege rules on hostile policies: each rule catches what it is for, and passes what AWS forces."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.iam_audit import RolePolicy, access_map, check

KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
VIA_S3 = {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"]}}


def policy(*statements: dict[str, Any], role: str = "imgpipe-x-image_processor") -> list[RolePolicy]:
    return [RolePolicy(role, "least-privilege", {"Version": "2012-10-17", "Statement": list(statements)})]


def rules(*statements: dict[str, Any]) -> list[str]:
    return [f.rule for f in check(policy(*statements), {"imgpipe-x-image_processor": "imgpipe-x-image_processor"})]


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Sid": "S", "Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize("action", ["*", "s3:*", "dynamodb:Put*", ["s3:GetObject", "sqs:*"]])
def test_wildcard_actions_are_findings(action: Any) -> None:
    assert "wildcard-action" in rules(allow(action, "arn:aws:s3:::b/k"))


@pytest.mark.parametrize(
    "action",
    ["s3:GetObject", "dynamodb:Query", "sqs:SendMessage", "secretsmanager:GetSecretValue", "logs:PutLogEvents"],
)
def test_a_wildcard_resource_is_a_finding_for_anything_with_resource_level_permissions(action: str) -> None:
    assert rules(allow(action, "*"))[0] == "wildcard-resource"


def test_a_wildcard_resource_is_accepted_only_where_aws_offers_nothing_narrower() -> None:
    assert rules(allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*")) == []
    assert rules(allow(["ec2:CreateNetworkInterface", "ec2:DescribeSubnets"], "*")) == []
    assert rules(allow(["xray:PutTraceSegments", "s3:GetObject"], "*")) == ["wildcard-resource"]


def test_key_use_needs_a_service_or_context_binding_and_a_named_key() -> None:
    assert rules(allow(["kms:Decrypt", "kms:GenerateDataKey"], KEY)) == ["kms-unconditioned"]
    assert rules(allow("kms:Decrypt", KEY, Condition=VIA_S3)) == []
    context = {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::b"}}
    assert rules(allow("kms:GenerateDataKey", KEY, Condition=context)) == []
    assert "kms-unconditioned" in rules(allow("kms:Decrypt", "*", Condition=VIA_S3))
    # a condition on something else does not bind the key
    assert rules(allow("kms:Decrypt", KEY, Condition={"Bool": {"aws:SecureTransport": "true"}})) == [
        "kms-unconditioned"
    ]
    assert rules(allow("kms:DescribeKey", KEY)) == []  # no data is decrypted


def test_not_action_and_not_resource_in_an_allow_are_findings() -> None:
    assert rules({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}) == ["not-allow-only"]
    assert rules({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/k"}) == ["not-allow-only"]
    assert rules({"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}) == []  # denies only narrow


def test_a_function_writes_only_its_own_log_group() -> None:
    own = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/imgpipe-x-image_processor:*"
    other = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/imgpipe-x-upload_api:*"
    assert rules(allow(["logs:CreateLogStream", "logs:PutLogEvents"], own)) == []
    assert rules(allow("logs:PutLogEvents", other)) == ["other-function-logs"]


def test_the_access_map_names_each_store_and_whether_it_is_written() -> None:
    statements = (
        allow(["s3:GetObject", "s3:DeleteObject"], "arn:aws:s3:::raw/raw/*"),
        allow("s3:PutObject", "arn:aws:s3:::processed/renditions/*"),
        allow(["dynamodb:GetItem"], "arn:aws:dynamodb:us-east-1:1:table/images"),
        allow(["dynamodb:Query"], "arn:aws:dynamodb:us-east-1:1:table/images/index/by_day"),
        allow("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:1:raw-events"),
        allow("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:1:secret:imgpipe-x/api-keys-AbCdEf"),
        allow("kms:Decrypt", KEY, Condition=VIA_S3),
        allow(["xray:PutTraceSegments"], "*"),
        {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::elsewhere/*"},
    )
    assert access_map(policy(*statements)) == {
        "imgpipe-x-image_processor": {
            "s3:raw/raw/*": "write",
            "s3:processed/renditions/*": "write",
            "dynamodb:images": "read",
            "dynamodb:images/index/by_day": "read",
            "sqs:raw-events": "read",
            "secretsmanager:imgpipe-x/api-keys": "read",
            "kms:key": "use",
        }
    }


def test_a_read_then_a_write_of_the_same_store_is_a_write() -> None:
    granted = access_map(
        policy(allow("sqs:ReceiveMessage", "arn:aws:sqs:r:1:q"), allow("sqs:DeleteMessage", "arn:aws:sqs:r:1:q"))
    )
    assert granted["imgpipe-x-image_processor"] == {"sqs:q": "write"}
