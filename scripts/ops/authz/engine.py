"""One authorization decision as AWS makes it within one account, over policy documents, offline.

Written by hand, and why: the one Python library the field points to, principalmapper (its local policy
simulation), had its last release in 2021, fails to import on Python >= 3.10 (`from collections import
Mapping`) and answers StringNotLike on an absent key the opposite way from AWS's documentation; iamspy has a
single 0.0.1 release; the maintained simulator (@cloud-copilot/iam-simulate) is Node and AGPL-3.0. So this module
implements AWS's documented evaluation logic — "Policy evaluation logic", "Condition operators", "Principal",
"Single-valued vs. multivalued context keys" in the IAM User Guide, and "Key policies" in the KMS guide — for
what this project needs: identity policies of roles, resource policies (bucket, queue, topic, secret, Lambda,
key), service principals, conditions. tests/unit/test_authz_engine.py holds it to those documents case by case.

Not modelled (none is used by the stack; docs/security.md says so): SCPs and RCPs, permission boundaries,
session policies, cross-account requests, anonymous requests, VPC endpoint policies.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Context = Mapping[str, "str | list[str]"]

# What an account-wide power user holds (AWS's PowerUserAccess): everything but IAM, Organizations and Account.
# The perimeter must hold against it: a broad IAM grant alone must not reach image data or the key.
POWER_USER_POLICY: Mapping[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"}],
}
# Services whose resource policy must allow even a principal of the owning account (the IAM identity policy
# alone is not enough): KMS key policies (and IAM trust policies, not evaluated here).
RESOURCE_POLICY_REQUIRED = frozenset({"kms"})


@dataclass(frozen=True)
class Role:
    """An IAM role of the account with the identity policies attached to it (inline and managed)."""

    arn: str
    policies: Sequence[Mapping[str, Any]] = ()

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


@dataclass(frozen=True)
class Service:
    """An AWS service principal (e.g. cloudwatch.amazonaws.com) acting on its own behalf."""

    name: str


@dataclass(frozen=True)
class Request:
    principal: Role | Service
    action: str
    resource: str
    context: Context = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    request: Request
    allowed: bool
    reason: str  # which statement decided, or why nothing allowed


class PolicyError(ValueError):
    """A document this evaluator cannot read (an operator or element AWS does not define)."""


# ------------------------------------------------------------------------------------------- request context


def role_context(role: Role) -> dict[str, str]:
    """The global keys AWS puts in every request a role's session makes (over HTTPS, as the SDKs do)."""
    return {
        "aws:PrincipalArn": role.arn,
        "aws:PrincipalAccount": role.account,
        "aws:PrincipalType": "AssumedRole",
        "aws:PrincipalIsAWSService": "false",
        "aws:SecureTransport": "true",
    }


def service_context(service: Service) -> dict[str, str]:
    return {
        "aws:PrincipalIsAWSService": "true",
        "aws:PrincipalServiceName": service.name,
        "aws:SecureTransport": "true",
    }


def full_context(request: Request) -> dict[str, list[str]]:
    principal = request.principal
    base: dict[str, str | list[str]] = {}
    if isinstance(principal, Role):
        base.update(role_context(principal))
        if request.action.lower().startswith("kms:"):
            base["kms:CallerAccount"] = principal.account
    else:
        base.update(service_context(principal))
    base.update(request.context)
    # Keys are case-insensitive, values are not.
    return {k.lower(): ([v] if isinstance(v, str) else list(v)) for k, v in base.items()}


# ------------------------------------------------------------------------------------------------- matching


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substitute(pattern: str, context: Mapping[str, list[str]]) -> str | None:
    """Policy variables: ${aws:PrincipalArn} etc. from the request, ${*} ${?} ${$} as literals. None when a
    variable has no value (AWS then treats the element as not matching)."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in ("*", "?", "$"):
            return "\0" + name  # literal, escaped below
        default = None
        if ", " in name:  # ${key, 'default'}
            name, _, default = name.partition(", ")
            default = default.strip("'")
        found = context.get(name.lower())
        if found and len(found) == 1:
            return found[0]
        if default is not None:
            return default
        missing = True
        return ""

    result = _VARIABLE.sub(value, pattern)
    return None if missing else result


def _glob(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """AWS wildcards: * any run of characters, ? one character (no character classes)."""
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c[1:]) if c.startswith("\0") else re.escape(c)
        for c in re.findall(r"\0.|.", pattern, flags=re.DOTALL)
    )
    return re.fullmatch(regex, text, flags=(re.IGNORECASE if ignore_case else 0) | re.DOTALL) is not None


def _action_matches(patterns: Any, action: str) -> bool:
    return any(_glob(str(p), action, ignore_case=True) for p in _as_list(patterns))


def _resource_matches(patterns: Any, resource: str, context: Mapping[str, list[str]]) -> bool:
    for pattern in _as_list(patterns):
        expanded = _substitute(str(pattern), context)
        if expanded is not None and _glob(expanded, resource):
            return True
    return False


def _arn_like(pattern: str, arn: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts matched on its own (wildcards do not cross ':')."""
    p_parts, a_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(p_parts) != 6 or len(a_parts) != 6:
        return False
    return all(_glob(p, a) for p, a in zip(p_parts, a_parts, strict=True))


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> datetime:
    if re.fullmatch(r"\d+", text):
        return datetime.fromtimestamp(int(text), tz=UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "LessThanEquals": operator.le,
    "GreaterThan": operator.gt,
    "GreaterThanEquals": operator.ge,
}


def _scalar(op: str, policy_value: str, request_value: str) -> bool:
    """The positive form of one operator on one policy value and one request value."""
    if op == "StringEquals":
        return request_value == policy_value
    if op == "StringEqualsIgnoreCase":
        return request_value.lower() == policy_value.lower()
    if op == "StringLike":
        return _glob(policy_value, request_value)
    for family, parse in (("Numeric", _number), ("Date", _date)):
        if op.startswith(family):
            compare = _COMPARISONS[op.removeprefix(family)]
            return bool(compare(parse(request_value), parse(policy_value)))
    if op == "Bool":
        return request_value.lower() == policy_value.lower()
    if op == "BinaryEquals":
        return request_value == policy_value
    if op == "IpAddress":
        return ipaddress.ip_address(request_value) in ipaddress.ip_network(policy_value, strict=False)
    if op in ("ArnEquals", "ArnLike"):
        return _arn_like(policy_value, request_value)
    raise PolicyError(f"unknown condition operator {op}")


_POSITIVE = frozenset(
    {
        "StringEquals", "StringEqualsIgnoreCase", "StringLike", "Bool", "BinaryEquals", "IpAddress", "ArnEquals",
        "ArnLike", "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
        "NumericGreaterThanEquals", "DateEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
        "DateGreaterThanEquals",
    }
)  # fmt: skip
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def condition_holds(operator: str, key: str, policy_values: Any, context: Mapping[str, list[str]]) -> bool:
    """One key under one operator, with AWS's rules for absent keys, IfExists, ForAllValues/ForAnyValue and
    negation (a negated operator holds when no policy value matches)."""
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    request_values = context.get(key.lower())
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(policy_values)]

    if op == "Null":
        absent = not request_values
        return any((v.lower() == "true") == absent for v in values)

    negated = op in _NEGATED
    positive = _NEGATED.get(op, op)
    if positive not in _POSITIVE:
        raise PolicyError(f"unknown condition operator {operator}")

    def one(request_value: str) -> bool:
        # Policy variables are allowed in the values of string and ARN operators.
        expanded = [_substitute(v, context) if positive.startswith(("String", "Arn")) else v for v in values]
        matched = any(v is not None and _scalar(positive, v, request_value) for v in expanded)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(v) for v in request_values or [])  # vacuously true for an absent or empty key
    if qualifier == "ForAnyValue":
        return any(one(v) for v in request_values or [])  # false for an absent key
    if qualifier:
        raise PolicyError(f"unknown set operator {qualifier}")
    if not request_values:
        return if_exists or negated  # absent key: only IfExists and negated operators hold
    return any(one(v) for v in request_values)


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]] | None, context: Mapping[str, list[str]]) -> bool:
    return all(
        condition_holds(operator, key, values, context)
        for operator, block in (conditions or {}).items()
        for key, values in block.items()
    )


# ----------------------------------------------------------------------------------------------- statements


def _statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not document:
        return []
    found = document.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def _applies(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, list[str]]) -> bool:
    if "Action" in statement:
        if not _action_matches(statement["Action"], action):
            return False
    elif "NotAction" in statement:
        if _action_matches(statement["NotAction"], action):
            return False
    else:
        raise PolicyError(f"statement {statement.get('Sid', '')!r} has neither Action nor NotAction")
    if "Resource" in statement:
        if not _resource_matches(statement["Resource"], resource, context):
            return False
    elif "NotResource" in statement and _resource_matches(statement["NotResource"], resource, context):
        return False
    return conditions_hold(statement.get("Condition"), context)


def _principal_match(element: Any, principal: Role | Service) -> str | None:
    """How a resource policy's Principal names the caller: "direct" (this role, or everyone), "account" (the
    role's account: a delegation to IAM), "service", or None."""
    if element == "*":
        return "direct"
    if not isinstance(element, Mapping):
        raise PolicyError(f'Principal {element!r} is neither "*" nor a mapping')
    if isinstance(principal, Service):
        services = _as_list(element.get("Service"))
        return "service" if principal.name in services or "*" in _as_list(element.get("AWS")) else None
    account_root = f"arn:{principal.arn.split(':')[1]}:iam::{principal.account}:root"
    for value in map(str, _as_list(element.get("AWS"))):
        if value in ("*", principal.arn):
            return "direct"
        if value in (account_root, principal.account):
            return "account"
    return None


def _resource_statements(
    document: Mapping[str, Any] | None, request: Request, context: Mapping[str, list[str]]
) -> list[tuple[Mapping[str, Any], str]]:
    """The resource policy's statements that apply to the request, with how each names the principal."""
    found = []
    for statement in _statements(document):
        if "Principal" in statement:
            how = _principal_match(statement["Principal"], request.principal)
        elif "NotPrincipal" in statement:
            how = None if _principal_match(statement["NotPrincipal"], request.principal) else "direct"
        else:
            raise PolicyError(f"resource policy statement {statement.get('Sid', '')!r} names no principal")
        if how is not None and _applies(statement, request.action, request.resource, context):
            found.append((statement, how))
    return found


def _sid(statement: Mapping[str, Any], where: str) -> str:
    return f"{where}:{statement.get('Sid') or '(no Sid)'}"


def decide(request: Request, resource_policy: Mapping[str, Any] | None) -> Decision:
    """Is `request` allowed? `resource_policy` is the policy of the resource (None when it has none); the
    resource is in the principal's account."""
    context = full_context(request)
    service = request.action.split(":", 1)[0].lower()
    resource_matches = _resource_statements(resource_policy, request, context)
    identity = request.principal.policies if isinstance(request.principal, Role) else []
    identity_matches = [
        s for doc in identity for s in _statements(doc) if _applies(s, request.action, request.resource, context)
    ]

    # 1. An explicit deny anywhere wins.
    for statement, _ in resource_matches:
        if statement.get("Effect") == "Deny":
            return Decision(request, False, f"explicit deny {_sid(statement, 'resource')}")
    for statement in identity_matches:
        if statement.get("Effect") == "Deny":
            return Decision(request, False, f"explicit deny {_sid(statement, 'identity')}")

    allows = [(s, how) for s, how in resource_matches if s.get("Effect") == "Allow"]
    identity_allow = next((s for s in identity_matches if s.get("Effect") == "Allow"), None)

    # 2. Service principals have no identity policies: only a resource policy lets them in.
    if isinstance(request.principal, Service):
        if allows:
            return Decision(request, True, f"allowed by {_sid(allows[0][0], 'resource')}")
        return Decision(request, False, "no resource policy statement allows this service")

    # 3. A resource policy that names the role (or everyone) allows on its own, within one account.
    direct = next((s for s, how in allows if how == "direct"), None)
    if direct is not None:
        return Decision(request, True, f"allowed by {_sid(direct, 'resource')}")

    # 4. KMS: the key policy must allow; naming the account delegates to IAM, which must then allow too.
    if service in RESOURCE_POLICY_REQUIRED:
        delegated = next((s for s, how in allows if how == "account"), None)
        if delegated is None:
            return Decision(request, False, "the key policy allows no statement for this principal")
        if identity_allow is None:
            return Decision(request, False, f"{_sid(delegated, 'resource')} delegates to IAM, which allows nothing")
        return Decision(
            request, True, f"allowed by {_sid(delegated, 'resource')} and {_sid(identity_allow, 'identity')}"
        )

    # 5. Otherwise the identity policy decides.
    if identity_allow is not None:
        return Decision(request, True, f"allowed by {_sid(identity_allow, 'identity')}")
    return Decision(request, False, "no statement allows it (implicit deny)")


# --------------------------------------------------------------------------------- key use implied by a store

# What a caller of each data-plane action must also be allowed on the store's KMS key (AWS's documentation of
# S3 SSE-KMS, SQS SSE, SNS SSE, DynamoDB and Secrets Manager encryption). An action not listed needs no key use.
KEY_USE = {
    "s3:GetObject": ("kms:Decrypt",),
    "s3:GetObjectVersion": ("kms:Decrypt",),
    "s3:PutObject": ("kms:GenerateDataKey",),
    "sqs:SendMessage": ("kms:GenerateDataKey", "kms:Decrypt"),
    "sqs:ReceiveMessage": ("kms:Decrypt",),
    "sns:Publish": ("kms:GenerateDataKey", "kms:Decrypt"),
    "secretsmanager:GetSecretValue": ("kms:Decrypt",),
    "secretsmanager:PutSecretValue": ("kms:GenerateDataKey",),
    "dynamodb:GetItem": ("kms:Decrypt",),
    "dynamodb:Query": ("kms:Decrypt",),
    "dynamodb:PutItem": ("kms:Decrypt",),
    "dynamodb:UpdateItem": ("kms:Decrypt",),
    "dynamodb:GetRecords": ("kms:Decrypt",),
}


def key_requests(request: Request, key_arn: str, region: str, dns_suffix: str = "amazonaws.com") -> list[Request]:
    """The key use that `request` on a store encrypted with `key_arn` implies. A role reaches the key through the
    store's service (kms:ViaService; S3 adds the bucket as encryption context); a service principal calls KMS
    itself and brings the source of its request (aws:SourceArn / aws:SourceAccount)."""
    service = request.action.split(":", 1)[0]
    context: dict[str, str | list[str]] = {}
    if isinstance(request.principal, Role):
        context["kms:ViaService"] = f"{service}.{region}.{dns_suffix}"
    else:
        context.update({k: v for k, v in request.context.items() if k.lower().startswith("aws:source")})
    # The encryption context each service sends with its KMS calls (its documentation), which key and identity
    # policies may condition on.
    if service == "s3":
        partition = request.resource.split(":")[1]
        bucket = request.resource.split(":::", 1)[1].split("/", 1)[0]
        context["kms:EncryptionContext:aws:s3:arn"] = f"arn:{partition}:s3:::{bucket}"
    elif service == "sqs":
        context["kms:EncryptionContext:aws:sqs:arn"] = request.resource
    elif service == "sns":
        context["kms:EncryptionContext:aws:sns:topicArn"] = request.resource
    elif service == "secretsmanager":
        context["kms:EncryptionContext:SecretARN"] = request.resource
    elif service == "dynamodb":
        table = request.resource.split(":table/", 1)[-1].split("/", 1)[0]
        context["kms:EncryptionContext:aws:dynamodb:tableName"] = table
        context["kms:EncryptionContext:aws:dynamodb:subscriberId"] = request.resource.split(":")[4]
    return [Request(request.principal, action, key_arn, context) for action in KEY_USE.get(request.action, ())]
