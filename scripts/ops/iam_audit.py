"""Least privilege, checked on the policies as deployed: every role of an environment read back from IAM (the
emulator locally, the account elsewhere), every Allow statement judged by the rules below.

    python -m scripts.ops.iam_audit [--env local|staging|prod] [--prefix imgpipe-staging] [--json]

Rules (each finding names the role, policy, statement and rule):
- wildcard-action: `*` or `<service>:*` (or a `*` inside a service's action name) is never granted;
- wildcard-resource: `Resource: "*"` only for actions AWS offers without resource-level permissions
  (RESOURCELESS_ACTIONS: X-Ray trace submission, EC2 network interfaces for functions in a VPC); in particular
  never on a data service (DATA_SERVICES);
- kms-unconditioned: a KMS data-key/decrypt grant must be bound to the services it is for (`kms:ViaService`) or
  to an encryption context, and name the key;
- not-allow-only: NotAction / NotResource are never used in an Allow;
- other-function-logs: a function writes only its own log group.
Resource and key policies (read back with scripts.ops.authz.documents: key, buckets, queues, topics, secrets, Lambda
permissions), each Allow judged by:
- resource-open-principal: `Principal: "*"` (or `{"AWS": "*"}`) with no condition naming who or what may call;
- foreign-account: a principal of another account;
- service-unscoped: an AWS service principal with neither `aws:SourceArn` / `aws:SourceAccount` nor an
  encryption context binding it to this account's resources (the confused deputy);
- key-use-by-account: the key lets the account root use it (encrypt, decrypt, data keys, grants) without naming
  the roles (`aws:PrincipalArn`): any principal whose IAM allows it would then read the data;
and every bucket of the environment must carry a perimeter (no-bucket-perimeter): a Deny of object access to
roles outside a named list (`aws:PrincipalArn`).
`access_map` then says, per role, which data stores (bucket/prefix, table, index, stream, queue, secret, key) it
can read or write; the tests hold it to the pipeline's design, so a role that gains another function's data
fails them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote

from scripts.cli import fail

DATA_SERVICES = frozenset({"s3", "dynamodb", "sqs", "secretsmanager", "kms", "kafka-cluster", "glue", "athena", "sns"})
# Actions that AWS authorizes only against "*" (no resource-level permissions): the one place "*" is accepted.
RESOURCELESS_ACTIONS = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "access-analyzer:ValidatePolicy",  # the plan stage validates the documents it is given
        "access-analyzer:CheckNoNewAccess",
        "ecr:GetAuthorizationToken",  # the registry login token (workers' execution role, the image stage)
    }
)
KMS_USE = re.compile(r"^kms:(Decrypt|Encrypt|GenerateDataKey.*|ReEncrypt.*)$")
KMS_BINDINGS = re.compile(r"^kms:(ViaService|EncryptionContext:.+|EncryptionContextKeys)$")
# Reads: everything whose verb does not change data. Anything else on a data service counts as a write.
READ_VERB = re.compile(r"^(Get|List|Describe|Query|Scan|BatchGet|Receive|Head|Select)")


@dataclass(frozen=True)
class Finding:
    role: str
    policy: str
    statement: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.role} / {self.policy} / {self.statement}: {self.rule}: {self.detail}"


@dataclass(frozen=True)
class RolePolicy:
    role: str
    policy: str
    document: Mapping[str, Any]


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _document(raw: Any) -> Mapping[str, Any]:
    """IAM returns documents URL-encoded on the wire; boto3 decodes them, emulators sometimes do not."""
    if isinstance(raw, Mapping):
        return raw
    text = str(raw)
    return dict(json.loads(unquote(text) if text.startswith("%7B") else text))


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def check(policies: Iterable[RolePolicy], function_roles: Mapping[str, str] | None = None) -> list[Finding]:
    """Every rule over every Allow statement. `function_roles` maps a role to its function's name (for the
    log-group rule); roles not in it are not functions."""
    function_roles = function_roles or {}
    findings: list[Finding] = []
    for rp in policies:
        for index, st in enumerate(statements(rp.document)):
            if st.get("Effect") != "Allow":
                continue
            sid = str(st.get("Sid") or f"#{index}")

            def flag(rule: str, detail: str, sid: str = sid, rp: RolePolicy = rp) -> None:
                findings.append(Finding(rp.role, rp.policy, sid, rule, detail))

            if "NotAction" in st or "NotResource" in st:
                flag("not-allow-only", "NotAction/NotResource in an Allow grants everything else")
                continue
            actions, resources = as_list(st.get("Action")), as_list(st.get("Resource"))
            for action in actions:
                if action == "*" or action.split(":", 1)[-1] == "*" or "*" in action.split(":", 1)[-1]:
                    flag("wildcard-action", action)
            if "*" in resources:
                offending = [a for a in actions if a not in RESOURCELESS_ACTIONS]
                if offending:
                    on_data = [a for a in offending if a.split(":", 1)[0] in DATA_SERVICES]
                    flag("wildcard-resource", f"Resource * for {', '.join(on_data or offending)}")
            kms_use = [a for a in actions if KMS_USE.match(a)]
            if kms_use:
                keys = {k for block in (st.get("Condition") or {}).values() for k in block}
                if not any(KMS_BINDINGS.match(k) for k in keys):
                    flag("kms-unconditioned", f"{', '.join(kms_use)} without kms:ViaService or an encryption context")
                if any(":key/" not in r and ":alias/" not in r for r in resources):
                    flag("kms-unconditioned", f"{', '.join(kms_use)} not limited to named keys: {resources}")
            function = function_roles.get(rp.role)
            if function and any(a.startswith("logs:") for a in actions):
                foreign = [
                    r for r in resources if f"/aws/lambda/{function}:" not in r and not r.endswith(f"/{function}")
                ]
                if foreign:
                    flag("other-function-logs", f"logs on {foreign}")
    return findings


SCOPING_KEYS = re.compile(
    r"^(aws:(SourceArn|SourceAccount|SourceOrgID|PrincipalArn|PrincipalAccount|PrincipalOrgID|SourceVpce)"
    r"|kms:EncryptionContext:.+|kms:CallerAccount)$",
    re.IGNORECASE,
)
KMS_USE_OR_GRANT = re.compile(
    r"^kms:(\*|Encrypt.*|Decrypt.*|GenerateDataKey.*|ReEncrypt.*|CreateGrant)$", re.IGNORECASE
)


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    return {str(k) for block in (statement.get("Condition") or {}).values() for k in block}


def check_resource_policies(docs: Any) -> list[Finding]:
    """The resource and key policy rules over scripts.ops.authz.documents.Documents of one environment."""
    findings: list[Finding] = []
    root = f"arn:{docs.partition}:iam::{docs.account}:root"
    for arn, document in sorted(docs.resource_policies.items()):
        for index, st in enumerate(statements(document or {})):
            if st.get("Effect") != "Allow":
                continue
            sid = str(st.get("Sid") or f"#{index}")

            def flag(rule: str, detail: str, sid: str = sid, arn: str = arn) -> None:
                findings.append(Finding(arn, "resource policy", sid, rule, detail))

            principal = st.get("Principal")
            keys = _condition_keys(st)
            scoped = any(SCOPING_KEYS.match(k) for k in keys)
            aws = [] if not isinstance(principal, Mapping) else as_list(principal.get("AWS"))
            services = [] if not isinstance(principal, Mapping) else as_list(principal.get("Service"))
            if (principal == "*" or "*" in aws) and not scoped:
                flag("resource-open-principal", "everyone may call, with no condition naming who")
            for who in aws:
                account = who if who.isdigit() else who.split(":")[4] if who.count(":") >= 5 else ""
                if who != "*" and account != docs.account:
                    flag("foreign-account", f"principal {who}")
            if services and not scoped:
                flag("service-unscoped", f"{', '.join(services)} without aws:SourceArn/SourceAccount or context")
            if arn == docs.key_arn and (root in aws or docs.account in aws):
                uses = [a for a in as_list(st.get("Action")) if KMS_USE_OR_GRANT.match(a)]
                if uses and not any(k.lower() == "aws:principalarn" for k in keys):
                    flag("key-use-by-account", f"{', '.join(uses)} for every principal the account's IAM allows")
    for kind, bucket in sorted(docs.buckets.items()):
        arn = f"arn:{docs.partition}:s3:::{bucket}"
        fenced = any(
            st.get("Effect") == "Deny"
            and any(k.lower() == "aws:principalarn" for k in _condition_keys(st))
            and any(a.lower().startswith("s3:getobject") for a in as_list(st.get("Action")))
            for st in statements(docs.resource_policies.get(arn) or {})
        )
        if not fenced:
            findings.append(Finding(arn, "bucket policy", "-", "no-bucket-perimeter", f"the {kind} bucket"))
    return findings


def store_of(arn: str) -> tuple[str, str] | None:
    """(kind, name) of the data store an ARN points into; None for what is not data (logs, traces, ENIs)."""
    if arn == "*":
        return ("any", "*")
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    service, resource = parts[2], parts[5]
    if service == "s3":
        bucket, _, key = resource.partition("/")
        return ("s3", f"{bucket}/{key}" if key else bucket)
    if service == "dynamodb":
        return ("dynamodb", resource.removeprefix("table/"))
    if service == "sqs":
        return ("sqs", resource)
    if service == "secretsmanager":
        return ("secretsmanager", resource.removeprefix("secret:").rsplit("-", 1)[0])
    if service == "kms":
        return ("kms", "key")
    if service in DATA_SERVICES:
        return (service, resource)
    return None


def access_map(policies: Iterable[RolePolicy]) -> dict[str, dict[str, str]]:
    """role -> {"<kind>:<store>": "read" | "write" | "use"} over the Allow statements (write includes read)."""
    result: dict[str, dict[str, str]] = {}
    for rp in policies:
        granted = result.setdefault(rp.role, {})
        for st in statements(rp.document):
            if st.get("Effect") != "Allow":
                continue
            actions = as_list(st.get("Action"))
            for arn in as_list(st.get("Resource")):
                store = store_of(arn)
                if store is None:
                    continue
                data_actions = [a for a in actions if a.split(":", 1)[0] in DATA_SERVICES]
                if not data_actions:
                    continue
                key = f"{store[0]}:{store[1]}"
                if store[0] == "kms":  # keys are used, not read or written; who may use one is the kms rule's
                    granted[key] = "use"
                    continue
                writes = any(not READ_VERB.match(a.split(":", 1)[1]) for a in data_actions)
                if granted.get(key) != "write":
                    granted[key] = "write" if writes else "read"
    return result


def role_policies(iam: Any, prefix: str) -> list[RolePolicy]:
    """Every inline and attached policy of the roles whose name starts with `prefix`."""
    found: list[RolePolicy] = []
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            name = role["RoleName"]
            if not name.startswith(prefix):
                continue
            for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
                found.append(RolePolicy(name, policy_name, _document(document)))
            for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                meta = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
                version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=meta["DefaultVersionId"])
                found.append(RolePolicy(name, attached["PolicyName"], _document(version["PolicyVersion"]["Document"])))
    return found


def function_roles(lambda_client: Any) -> dict[str, str]:
    """role name -> the function that runs with it."""
    roles: dict[str, str] = {}
    for page in lambda_client.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            roles[str(function["Role"]).rsplit("/", 1)[-1]] = str(function["FunctionName"])
    return roles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.ops.iam_audit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="local", choices=["local", "staging", "prod"])
    parser.add_argument("--prefix", help="role name prefix (default imgpipe-<env>-)")
    parser.add_argument("--json", action="store_true", help="findings and the access map as JSON")
    args = parser.parse_args(argv)
    from scripts.local import stack

    def client(service: str) -> Any:
        if args.env == "local":
            return stack.aws_client(stack.StackConfig.from_env(), service)
        import boto3

        return boto3.client(service)

    prefix = args.prefix or f"imgpipe-{args.env}-"
    # The pipeline's own roles (modules/cicd, `<prefix>cicd-…`) administer whole services by design; their
    # reach is held by that module's terraform tests and by the authorization matrix (python -m scripts.ops.authz).
    policies = [p for p in role_policies(client("iam"), prefix) if not p.role.startswith(f"{prefix}cicd-")]
    if not policies:
        return fail(f"no role named {prefix}* holds a policy here")
    findings = check(policies, function_roles(client("lambda")))
    from scripts.ops.authz import documents

    declared = None
    if args.env == "local":  # envs/local declares the bucket policies without attaching them (moto)
        from scripts.deploy import tf

        declared = (tf.outputs("local", tf.run_env("local")).get("authorization") or {}).get("bucket_policies")
    docs = documents.from_aws(client, prefix.rstrip("-"), declared_bucket_policies=declared)
    findings += check_resource_policies(docs)
    if args.json:
        print(json.dumps({"findings": [asdict(f) for f in findings], "access": access_map(policies)}, indent=2))
    else:
        roles = sorted({p.role for p in policies})
        resources = sum(1 for d in docs.resource_policies.values() if d)
        print(f"{len(roles)} roles, {len(policies)} policies, {resources} resource policies, {len(findings)} findings")
        for finding in findings:
            print(f"  {finding}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
