"""The least-privilege rules on hostile policies: each rule catches what it is for, and passes what AWS forces."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.ops.iam_audit import RolePolicy, access_map, check

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


# ------------------------------------------------------------------------------------ resource and key policies


def resource_docs(key_statements: list[dict[str, Any]], **policies: Any) -> Any:
    from scripts.ops.authz.documents import Documents

    docs = Documents("123456789012", "us-east-1", "aws", "imgpipe-x", "aws", key_arn=KEY)
    docs.resource_policies[KEY] = {"Version": "2012-10-17", "Statement": key_statements}
    for arn, statement_list in policies.items():
        docs.resource_policies[arn.replace("__", ":")] = {"Version": "2012-10-17", "Statement": statement_list}
    return docs


ROOT = {"AWS": "arn:aws:iam::123456789012:root"}


def resource_rules(docs: Any) -> list[str]:
    from scripts.ops.iam_audit import check_resource_policies

    return sorted(f.rule for f in check_resource_policies(docs))


def test_a_key_the_whole_account_may_use_is_a_finding() -> None:
    # The key policy as it was before #17: every principal whose IAM allowed kms:Decrypt could read the images.
    assert resource_rules(
        resource_docs([{"Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"}])
    ) == ["key-use-by-account"]
    named = {"ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/imgpipe-x-image_processor"]}}
    use = {"Effect": "Allow", "Principal": ROOT, "Action": ["kms:Decrypt"], "Resource": "*", "Condition": named}
    admin = {"Effect": "Allow", "Principal": ROOT, "Action": ["kms:PutKeyPolicy", "kms:DescribeKey"], "Resource": "*"}
    assert resource_rules(resource_docs([use, admin])) == []
    grant = {"Effect": "Allow", "Principal": "123456789012", "Action": "kms:CreateGrant", "Resource": "*"}
    assert resource_rules(resource_docs([{**grant, "Principal": {"AWS": "123456789012"}}])) == ["key-use-by-account"]


def test_service_principals_must_be_bound_to_this_accounts_resources() -> None:
    unscoped = {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "kms:Decrypt"}
    assert resource_rules(resource_docs([{**unscoped, "Resource": "*"}])) == ["service-unscoped"]
    by_source = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert resource_rules(resource_docs([{**unscoped, "Resource": "*", "Condition": by_source}])) == []
    by_context = {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:*"}}
    logs = {**unscoped, "Principal": {"Service": "logs.us-east-1.amazonaws.com"}, "Resource": "*"}
    assert resource_rules(resource_docs([{**logs, "Condition": by_context}])) == []


def test_open_and_foreign_principals_are_findings() -> None:
    topic = "arn__aws__sns__us-east-1__123456789012__imgpipe-x-alarms"
    open_allow = {"Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": "*"}
    assert resource_rules(resource_docs([], **{topic: [open_allow]})) == ["resource-open-principal"]
    only_account = {**open_allow, "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}}
    assert resource_rules(resource_docs([], **{topic: [only_account]})) == []
    deny_everyone = {"Effect": "Deny", "Principal": "*", "Action": "sns:*", "Resource": "*"}
    assert resource_rules(resource_docs([], **{topic: [deny_everyone]})) == []
    foreign = {**open_allow, "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}
    assert resource_rules(resource_docs([], **{topic: [foreign]})) == ["foreign-account"]


def test_a_bucket_without_a_perimeter_is_a_finding() -> None:
    docs = resource_docs([])
    docs.buckets["raw"] = "imgpipe-x-raw-123456789012"
    assert resource_rules(docs) == ["no-bucket-perimeter"]
    docs.resource_policies["arn:aws:s3:::imgpipe-x-raw-123456789012"] = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:GetObject*", "s3:PutObject*"],
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/r"]}},
            }
        ]
    }
    assert resource_rules(docs) == []
