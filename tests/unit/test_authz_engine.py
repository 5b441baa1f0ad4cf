"""The offline evaluator (scripts/ops/authz/engine.py) against AWS's documented evaluation logic: each case names the
rule of the IAM User Guide ("Policy evaluation logic", "Condition operators", "Principal") or the KMS Developer
Guide ("Key policies") it reproduces. Small synthetic documents, one fact each."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.ops.authz import engine
from scripts.ops.authz.engine import POWER_USER_POLICY, Request, Role, Service, condition_holds, decide

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/imgpipe-prod-image_processor"
OTHER = f"arn:aws:iam::{ACCOUNT}:role/someone-else"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
OBJECT = "arn:aws:s3:::imgpipe-prod-raw-123456789012/raw/2026/12/02/01J"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = f"arn:aws:sns:eu-west-1:{ACCOUNT}:imgpipe-prod-alarms"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str = "s3:GetObject", resource: str = OBJECT, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str = "s3:GetObject", resource: str = OBJECT, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def role(*statements: dict[str, Any], arn: str = ROLE) -> Role:
    return Role(arn, [policy(*statements)] if statements else [])


def ask(who: Role | Service, action: str = "s3:GetObject", resource: str = OBJECT, **context: Any) -> Request:
    return Request(who, action, resource, {k.replace("__", ":"): v for k, v in context.items()})


# ------------------------------------------------------------------------------------ policy evaluation logic


def test_an_identity_allow_is_enough_without_a_resource_policy() -> None:
    assert decide(ask(role(allow())), None).allowed


def test_without_any_allow_the_request_is_implicitly_denied() -> None:
    decision = decide(ask(role()), None)
    assert not decision.allowed and "implicit deny" in decision.reason


def test_an_explicit_deny_in_the_resource_policy_wins_over_an_identity_allow() -> None:
    bucket = policy({**deny(), "Principal": "*", "Sid": "Perimeter"})
    decision = decide(ask(role(allow())), bucket)
    assert not decision.allowed and "resource:Perimeter" in decision.reason


def test_an_explicit_deny_in_the_identity_policy_wins_over_a_resource_policy_allow() -> None:
    bucket = policy({**allow(), "Principal": {"AWS": ROLE}})
    assert not decide(ask(role(deny())), bucket).allowed


def test_a_same_account_resource_policy_naming_the_role_allows_on_its_own() -> None:
    bucket = policy({**allow(), "Principal": {"AWS": ROLE}})
    assert decide(ask(role()), bucket).allowed


def test_a_resource_policy_naming_the_account_only_delegates_to_iam() -> None:
    bucket = policy({**allow(), "Principal": {"AWS": ROOT}})
    assert not decide(ask(role()), bucket).allowed
    assert decide(ask(role(allow())), bucket).allowed
    account_id_form = policy({**allow(), "Principal": {"AWS": ACCOUNT}})
    assert not decide(ask(role()), account_id_form).allowed


def test_kms_needs_the_key_policy_even_with_an_identity_allow() -> None:
    identity = role(allow("kms:Decrypt", KEY))
    nothing_for_the_account = policy({**allow("kms:*", "*"), "Principal": {"AWS": OTHER}})
    decision = decide(ask(identity, "kms:Decrypt", KEY), nothing_for_the_account)
    assert not decision.allowed and "key policy" in decision.reason
    assert not decide(ask(identity, "kms:Decrypt", KEY), None).allowed


def test_kms_root_statement_delegates_to_iam_which_must_allow() -> None:
    key_policy = policy({**allow("kms:*", "*"), "Principal": {"AWS": ROOT}, "Sid": "Root"})
    assert decide(ask(role(allow("kms:Decrypt", KEY)), "kms:Decrypt", KEY), key_policy).allowed
    decision = decide(ask(role(), "kms:Decrypt", KEY), key_policy)
    assert not decision.allowed and "delegates to IAM" in decision.reason


def test_kms_key_policy_naming_the_role_allows_without_iam() -> None:
    key_policy = policy({**allow("kms:Decrypt", "*"), "Principal": {"AWS": ROLE}})
    assert decide(ask(role(), "kms:Decrypt", KEY), key_policy).allowed


def test_kms_caller_account_is_in_the_context_of_a_role_request() -> None:
    key_policy = policy(
        {
            **allow("kms:Decrypt", "*"),
            "Principal": {"AWS": ROOT},
            "Condition": {
                "StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": "s3.eu-west-1.amazonaws.com"}
            },
        }
    )
    identity = role(allow("kms:Decrypt", KEY))
    assert decide(ask(identity, "kms:Decrypt", KEY, kms__ViaService="s3.eu-west-1.amazonaws.com"), key_policy).allowed
    assert not decide(ask(identity, "kms:Decrypt", KEY), key_policy).allowed  # called KMS directly, not via S3


def test_a_service_principal_is_only_let_in_by_a_resource_policy() -> None:
    cloudwatch = Service("cloudwatch.amazonaws.com")
    assert not decide(ask(cloudwatch, "sns:Publish", TOPIC), None).allowed
    topic_policy = policy(
        {
            **allow("sns:Publish", TOPIC),
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        },
        {**deny("sns:*", TOPIC), "Principal": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    )
    assert decide(ask(cloudwatch, "sns:Publish", TOPIC, aws__SourceAccount=ACCOUNT), topic_policy).allowed
    assert not decide(ask(cloudwatch, "sns:Publish", TOPIC, aws__SourceAccount="999999999999"), topic_policy).allowed
    assert not decide(ask(Service("events.amazonaws.com"), "sns:Publish", TOPIC), topic_policy).allowed


def test_a_deny_to_everyone_applies_to_service_principals_too() -> None:
    topic_policy = policy({**allow("sns:Publish", TOPIC), "Principal": {"Service": "s3.amazonaws.com"}})
    fenced = policy(*topic_policy["Statement"], {**deny("sns:Publish", TOPIC), "Principal": "*"})
    assert decide(ask(Service("s3.amazonaws.com"), "sns:Publish", TOPIC), topic_policy).allowed
    assert not decide(ask(Service("s3.amazonaws.com"), "sns:Publish", TOPIC), fenced).allowed


def test_not_principal_denies_everyone_but_the_named() -> None:
    bucket = policy({**deny(), "NotPrincipal": {"AWS": ROLE}})
    assert decide(ask(role(allow())), bucket).allowed
    assert not decide(ask(role(allow(), arn=OTHER)), bucket).allowed


def test_not_action_grants_everything_else_as_a_power_user_holds() -> None:
    power_user = Role(OTHER, [POWER_USER_POLICY])
    assert decide(ask(power_user), None).allowed
    assert not decide(ask(power_user, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/x"), None).allowed


def test_not_resource_and_action_wildcards() -> None:
    identity = role({"Effect": "Allow", "Action": "s3:Get*", "NotResource": f"{OBJECT.rsplit('/', 1)[0]}/secret"})
    assert decide(ask(identity, "s3:GetObjectTagging"), None).allowed
    assert decide(ask(identity, "S3:getobject"), None).allowed  # action names are case-insensitive
    assert not decide(ask(identity, "s3:PutObject"), None).allowed
    assert not decide(ask(identity, resource=f"{OBJECT.rsplit('/', 1)[0]}/secret"), None).allowed


def test_resource_arns_are_case_sensitive_and_wildcards_span_slashes() -> None:
    identity = role(allow(resource="arn:aws:s3:::imgpipe-prod-raw-123456789012/raw/*"))
    assert decide(ask(identity), None).allowed
    assert not decide(ask(identity, resource=OBJECT.replace("/raw/", "/RAW/")), None).allowed


def test_policy_variables_in_resources_come_from_the_request() -> None:
    identity = role(allow(resource="arn:aws:s3:::bucket/${aws:PrincipalAccount}/*"))
    assert decide(ask(identity, resource=f"arn:aws:s3:::bucket/{ACCOUNT}/x"), None).allowed
    assert not decide(ask(identity, resource="arn:aws:s3:::bucket/999999999999/x"), None).allowed
    literal = role(allow(resource="arn:aws:s3:::bucket/${*}"))
    assert decide(ask(literal, resource="arn:aws:s3:::bucket/*"), None).allowed
    assert not decide(ask(literal, resource="arn:aws:s3:::bucket/x"), None).allowed


# ------------------------------------------------------------------------------------------ condition operators


def ctx(**values: Any) -> dict[str, list[str]]:
    return {k.replace("__", ":").lower(): ([v] if isinstance(v, str) else list(v)) for k, v in values.items()}


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        # "If the key that you specify in a policy condition is not present in the request context, the values do
        # not match" — positive operators are false, negated ones (no value matches) are true, IfExists is true.
        ("StringEquals", False),
        ("StringLike", False),
        ("ArnLike", False),
        ("Bool", False),
        ("NumericLessThan", False),
        ("StringNotEquals", True),
        ("StringNotLike", True),
        ("ArnNotLike", True),
        ("StringEqualsIfExists", True),
        ("StringNotEqualsIfExists", True),
        ("BoolIfExists", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAllValues:StringEquals", True),
    ],
)
def test_a_key_absent_from_the_request(operator: str, expected: bool) -> None:
    assert condition_holds(operator, "aws:PrincipalTag/team", "x", ctx()) is expected


def test_principalmappers_deviation_is_corrected_here() -> None:
    # principalmapper 1.1.5 answers False for StringNotLike on an absent key (and StringNotEquals True): AWS's
    # documentation treats every negated operator alike.
    assert condition_holds("StringNotLike", "aws:PrincipalArn", "arn:aws:iam::*:role/x", ctx())
    assert condition_holds("StringNotEquals", "aws:PrincipalArn", "arn:aws:iam::1:role/x", ctx())


def test_values_of_one_key_are_ored_and_negation_means_none_matches() -> None:
    present = ctx(aws__PrincipalArn=ROLE)
    assert condition_holds("StringEquals", "aws:PrincipalArn", [OTHER, ROLE], present)
    assert not condition_holds("StringNotEquals", "aws:PrincipalArn", [OTHER, ROLE], present)
    assert condition_holds("StringNotEquals", "aws:PrincipalArn", [OTHER], present)
    assert condition_holds("ArnNotLike", "aws:PrincipalArn", [f"arn:aws:iam::{ACCOUNT}:role/other-*"], present)
    assert not condition_holds("ArnNotLike", "aws:PrincipalArn", [f"arn:aws:iam::{ACCOUNT}:role/imgpipe-*"], present)


def test_keys_and_operators_of_one_condition_are_anded() -> None:
    conditions = {"StringEquals": {"aws:SourceAccount": ACCOUNT, "aws:PrincipalIsAWSService": "true"}}
    assert engine.conditions_hold(conditions, ctx(aws__SourceAccount=ACCOUNT, aws__PrincipalIsAWSService="true"))
    assert not engine.conditions_hold(conditions, ctx(aws__SourceAccount=ACCOUNT))


def test_condition_key_names_are_case_insensitive_values_are_not() -> None:
    assert condition_holds("StringEquals", "AWS:sourceaccount", ACCOUNT, ctx(aws__SourceAccount=ACCOUNT))
    assert not condition_holds(
        "StringEquals", "aws:PrincipalType", "assumedrole", ctx(aws__PrincipalType="AssumedRole")
    )
    assert condition_holds(
        "StringEqualsIgnoreCase", "aws:PrincipalType", "assumedrole", ctx(aws__PrincipalType="AssumedRole")
    )


def test_null_bool_numeric_and_arn_operators() -> None:
    assert condition_holds("Null", "s3:x-amz-server-side-encryption-aws-kms-key-id", "true", ctx())
    assert not condition_holds("Null", "aws:SourceArn", "true", ctx(aws__SourceArn="arn:aws:s3:::b"))
    assert condition_holds("Null", "aws:SourceArn", "false", ctx(aws__SourceArn="arn:aws:s3:::b"))
    assert not condition_holds("Bool", "aws:SecureTransport", "false", ctx(aws__SecureTransport="true"))
    assert condition_holds("Bool", "aws:SecureTransport", [False], ctx(aws__SecureTransport="false"))
    assert not condition_holds("NumericLessThan", "s3:TlsVersion", "1.2", ctx(s3__TlsVersion="1.3"))
    assert condition_holds("NumericLessThan", "s3:TlsVersion", "1.2", ctx(s3__TlsVersion="1.1"))
    # ArnLike compares each colon-separated part on its own: a wildcard does not cross a colon.
    alarm = f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:imgpipe-prod-dlq"
    assert condition_holds(
        "ArnLike", "aws:SourceArn", f"arn:aws:cloudwatch:*:{ACCOUNT}:alarm:imgpipe-prod-*", ctx(aws__SourceArn=alarm)
    )
    assert not condition_holds("ArnLike", "aws:SourceArn", "arn:aws:cloudwatch:*", ctx(aws__SourceArn=alarm))
    assert condition_holds(
        "DateLessThan", "aws:CurrentTime", "2030-01-01T00:00:00Z", ctx(aws__CurrentTime="2026-12-02T00:00:00Z")
    )


def test_set_operators_over_multivalued_keys() -> None:
    tags = ctx(aws__TagKeys=["team", "env"])
    assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["team", "env", "cost"], tags)
    assert not condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["team"], tags)
    assert condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["env"], tags)
    assert not condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["cost"], tags)


def test_an_unknown_operator_is_an_error_not_a_silent_match() -> None:
    with pytest.raises(engine.PolicyError, match="StringSortOf"):
        condition_holds("StringSortOf", "aws:SourceAccount", ACCOUNT, ctx(aws__SourceAccount=ACCOUNT))


# ------------------------------------------------------------------------------------- key use implied by a store


def test_reading_an_sse_kms_object_is_a_decrypt_via_s3_with_the_bucket_as_context() -> None:
    [use] = engine.key_requests(ask(role(), "s3:GetObject", OBJECT), KEY, "eu-west-1")
    assert (use.action, use.resource) == ("kms:Decrypt", KEY)
    assert use.context == {
        "kms:ViaService": "s3.eu-west-1.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::imgpipe-prod-raw-123456789012",
    }


def test_each_store_sends_its_documented_encryption_context() -> None:
    secret = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:imgpipe-prod/api-keys-AbCdEf"
    queue = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:imgpipe-prod-raw-events"
    table = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/imgpipe-prod-images/index/by_status"
    [read] = engine.key_requests(ask(role(), "secretsmanager:GetSecretValue", secret), KEY, "eu-west-1")
    assert read.context["kms:EncryptionContext:SecretARN"] == secret
    [receive] = engine.key_requests(ask(role(), "sqs:ReceiveMessage", queue), KEY, "eu-west-1")
    assert receive.context["kms:EncryptionContext:aws:sqs:arn"] == queue
    [query] = engine.key_requests(ask(role(), "dynamodb:Query", table), KEY, "eu-west-1")
    assert query.context["kms:EncryptionContext:aws:dynamodb:tableName"] == "imgpipe-prod-images"
    assert query.context["kms:EncryptionContext:aws:dynamodb:subscriberId"] == ACCOUNT


def test_a_service_principal_brings_its_source_to_kms() -> None:
    publish = ask(Service("cloudwatch.amazonaws.com"), "sns:Publish", TOPIC, aws__SourceAccount=ACCOUNT)
    uses = engine.key_requests(publish, KEY, "eu-west-1")
    assert [u.action for u in uses] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert all(
        u.context == {"aws:SourceAccount": ACCOUNT, "kms:EncryptionContext:aws:sns:topicArn": TOPIC} for u in uses
    )
    assert engine.key_requests(ask(role(), "s3:ListBucket", OBJECT), KEY, "eu-west-1") == []
