"""Every policy document of one environment, with what each store is encrypted with: read back from the account
or emulator it is deployed in (`from_aws`), or taken from a saved plan (`from_plan`, `terraform show -json`).

Stores are found by the environment's naming (`<prefix>-…`), the same way for both sources, so the matrix names
them by role ("the raw bucket", "the image_processor function") rather than by physical names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from scripts.ops.authz.engine import Role

# AWS managed policies the stack attaches, as documents (no account is needed to read them). ReadOnlyAccess is
# AWS's own and long: its reads are what matter here, so it stands as its read verbs on everything — which is
# broader than the real one, so a "must be denied" verdict about it can only be stricter than AWS's.
AWS_MANAGED = {
    "AmazonAPIGatewayPushToCloudWatchLogs": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:FilterLogEvents",
                ],
                "Resource": "*",
            }
        ],
    },
    "ReadOnlyAccess": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["*:Get*", "*:List*", "*:Describe*", "*:BatchGet*", "*:Query", "*:Scan", "*:Select*"],
                "Resource": "*",
            }
        ],
    },
}
# An attached policy neither found nor known: counted as what a power user holds, so no forbidden edge can pass
# because a document was missing.
UNRESOLVED_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class DocumentsError(RuntimeError):
    """The documents cannot be read (no such environment, or a plan that does not show it)."""


@dataclass
class Documents:
    account: str
    region: str
    partition: str
    prefix: str
    source: str  # "aws", "emulator" or "plan"
    roles: dict[str, Role] = field(default_factory=dict)  # role name -> role with its identity policies
    resource_policies: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)  # resource ARN -> doc
    encryption: dict[str, str] = field(default_factory=dict)  # store ARN -> KMS key ARN
    notes: dict[str, str] = field(default_factory=dict)  # resource ARN -> where its document came from, if not deployed
    unknown: set[str] = field(default_factory=set)  # ARNs whose document a plan cannot know yet
    buckets: dict[str, str] = field(default_factory=dict)  # kind (raw, processed, …) -> bucket name
    queues: dict[str, str] = field(default_factory=dict)  # name without the prefix -> ARN
    topics: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # name without the prefix -> function ARN
    function_roles: dict[str, str] = field(default_factory=dict)  # name without the prefix -> role ARN
    rules: dict[str, str] = field(default_factory=dict)
    key_arn: str = ""  # the environment's key (alias/<prefix>)
    keys: dict[str, str] = field(default_factory=dict)  # the other keys: alias suffix (alias/<prefix>-<x>) -> ARN
    rest_api_ids: list[str] = field(default_factory=list)
    api_stage: str = "*"
    authorizer_ids: list[str] = field(default_factory=list)

    def strip(self, name: str) -> str:
        return name.removeprefix(f"{self.prefix}-").removeprefix(f"{self.prefix}/")

    def bucket_kind(self, name: str) -> str | None:
        """raw / processed / analytics / … for `<prefix>-<kind>-<suffix>`."""
        rest = name.removeprefix(f"{self.prefix}-")
        if rest == name or "-" not in rest:
            return None
        return rest.rsplit("-", 1)[0]

    def policy_for(self, resource: str) -> tuple[str, Mapping[str, Any] | None]:
        """(the ARN whose policy governs `resource`, that policy) — a bucket's for its objects."""
        owner = resource
        if resource.startswith(f"arn:{self.partition}:s3:::"):
            owner = resource.split("/", 1)[0]
        return owner, self.resource_policies.get(owner)


def _doc(raw: Any) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, Mapping):
        return dict(raw)
    text = str(raw)
    return dict(json.loads(unquote(text) if text.startswith("%7B") else text))


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def from_aws(client: Any, prefix: str, declared_bucket_policies: Mapping[str, Any] | None = None) -> Documents:
    """Read back everything of the environment whose names start with `prefix`. `client(service)` gives a boto3
    client. `declared_bucket_policies` (bucket name -> document) stands in for a bucket that has none attached
    (envs/local declares them but the emulator would apply their conditions to every request, so it does not
    attach them): the notes say so."""
    sts = client("sts").get_caller_identity()
    account = sts["Account"]
    partition = sts["Arn"].split(":")[1]
    region = client("sts").meta.region_name
    docs = Documents(account, region, partition, prefix, "aws")
    docs.roles = roles_from_aws(client("iam"), prefix)

    kms = client("kms")
    aliases = [a for a in _pages(kms, "list_aliases", "Aliases") if a["AliasName"].startswith(f"alias/{prefix}")]
    if not any(a["AliasName"] == f"alias/{prefix}" for a in aliases):
        raise DocumentsError(f"no KMS alias alias/{prefix}: is the environment deployed here?")
    for alias in aliases:
        arn = kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]["Arn"]
        docs.resource_policies[arn] = _doc(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])
        if alias["AliasName"] == f"alias/{prefix}":
            docs.key_arn = arn
        elif alias["AliasName"].startswith(f"alias/{prefix}-"):
            docs.keys[alias["AliasName"].removeprefix(f"alias/{prefix}-")] = arn

    s3 = client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        kind = docs.bucket_kind(name)
        if not name.startswith(f"{prefix}-") or kind is None:
            continue
        arn = f"arn:{partition}:s3:::{name}"
        docs.buckets[kind] = name
        try:
            docs.resource_policies[arn] = _doc(s3.get_bucket_policy(Bucket=name)["Policy"])
        except s3.exceptions.ClientError as err:
            if err.response["Error"]["Code"] != "NoSuchBucketPolicy":
                raise
            declared = (declared_bucket_policies or {}).get(name)
            docs.resource_policies[arn] = _doc(declared)
            if declared is not None:
                docs.notes[arn] = "declared by Terraform, not attached here (envs/local: enforce_bucket_policy=false)"
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        default = rules[0]["ApplyServerSideEncryptionByDefault"]
        if default.get("SSEAlgorithm") == "aws:kms":
            docs.encryption[arn] = default["KMSMasterKeyID"]

    sqs = client("sqs")
    for url in sqs.list_queues(QueueNamePrefix=f"{prefix}-").get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        arn = attributes["QueueArn"]
        docs.queues[docs.strip(arn.rsplit(":", 1)[1])] = arn
        docs.resource_policies[arn] = _doc(attributes.get("Policy"))
        if attributes.get("KmsMasterKeyId"):
            docs.encryption[arn] = _key_arn(attributes["KmsMasterKeyId"], docs)

    sns = client("sns")
    for topic in _pages(sns, "list_topics", "Topics"):
        arn = topic["TopicArn"]
        if not arn.rsplit(":", 1)[1].startswith(f"{prefix}-"):
            continue
        attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        docs.topics[docs.strip(arn.rsplit(":", 1)[1])] = arn
        docs.resource_policies[arn] = _doc(attributes.get("Policy"))
        if attributes.get("KmsMasterKeyId"):
            docs.encryption[arn] = _key_arn(attributes["KmsMasterKeyId"], docs)

    secrets = client("secretsmanager")
    for secret in _pages(secrets, "list_secrets", "SecretList"):
        if not secret["Name"].startswith(f"{prefix}/"):
            continue
        arn = secret["ARN"]
        docs.secrets[docs.strip(secret["Name"])] = arn
        docs.resource_policies[arn] = _doc(secrets.get_resource_policy(SecretId=arn).get("ResourcePolicy"))
        if secret.get("KmsKeyId"):
            docs.encryption[arn] = _key_arn(secret["KmsKeyId"], docs)

    dynamodb = client("dynamodb")
    for table in _pages(dynamodb, "list_tables", "TableNames"):
        if not table.startswith(f"{prefix}-"):
            continue
        described = dynamodb.describe_table(TableName=table)["Table"]
        docs.tables[docs.strip(table)] = described["TableArn"]
        key = described.get("SSEDescription", {}).get("KMSMasterKeyArn")
        if key:
            docs.encryption[described["TableArn"]] = key

    lambda_ = client("lambda")
    for function in _pages(lambda_, "list_functions", "Functions"):
        name = function["FunctionName"]
        if not name.startswith(f"{prefix}-"):
            continue
        short = docs.strip(name)
        docs.functions[short] = function["FunctionArn"]
        docs.function_roles[short] = function["Role"]
        for qualifier in (None, "live"):
            arn = function["FunctionArn"] + (f":{qualifier}" if qualifier else "")
            try:
                kwargs = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
                docs.resource_policies[arn] = _doc(lambda_.get_policy(**kwargs)["Policy"])
            except lambda_.exceptions.ResourceNotFoundException:
                docs.resource_policies[arn] = None

    for rule in _pages(client("events"), "list_rules", "Rules", NamePrefix=f"{prefix}-"):
        docs.rules[docs.strip(rule["Name"])] = rule["Arn"]
    apigateway = client("apigateway")
    docs.rest_api_ids = [
        api["id"] for api in _pages(apigateway, "get_rest_apis", "items") if api["name"].startswith(f"{prefix}-")
    ]
    for api_id in docs.rest_api_ids[:1]:
        stages = apigateway.get_stages(restApiId=api_id).get("item", [])
        docs.api_stage = stages[0]["stageName"] if stages else "*"
        docs.authorizer_ids = [a["id"] for a in apigateway.get_authorizers(restApiId=api_id).get("items", [])]
    return docs


def roles_from_aws(iam: Any, prefix: str) -> dict[str, Role]:
    """Every role named `<prefix>-…` with its inline and attached policies."""
    roles = {}
    for role in _pages(iam, "list_roles", "Roles"):
        name = role["RoleName"]
        if not name.startswith(f"{prefix}-"):
            continue
        policies: list[Mapping[str, Any]] = []
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            policies.append(_doc(iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]) or {})
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            try:
                meta = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
                version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=meta["DefaultVersionId"])
                policies.append(_doc(version["PolicyVersion"]["Document"]) or {})
            except Exception:  # an unreadable managed policy counts as the broadest grant
                policies.append(AWS_MANAGED.get(attached["PolicyName"], UNRESOLVED_POLICY))
        roles[name] = Role(role["Arn"], policies)
    return roles


def _key_arn(key_id: str, docs: Documents) -> str:
    if key_id.startswith("arn:"):
        return key_id
    if key_id.startswith("alias/") and key_id == f"alias/{docs.prefix}":
        return docs.key_arn
    return f"arn:{docs.partition}:kms:{docs.region}:{docs.account}:key/{key_id}"


# ------------------------------------------------------------------------------------------------ saved plans


def _resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _resources(child)


def from_plan(shown: Mapping[str, Any], prefix: str) -> Documents:
    """The documents a saved plan would leave deployed (`terraform show -json <plan>`): what the plan changes as
    planned, the rest as the state holds it. A document the plan cannot know before apply (it depends on an ARN
    not created yet) is listed in `unknown`; every edge that needs it is reported as undecided."""
    values = list(_resources(shown.get("planned_values", {}).get("root_module", {})))
    data = [r for r in _resources(shown.get("prior_state", {}).get("values", {}).get("root_module", {}))
            if r.get("mode") == "data"]  # fmt: skip
    unknown_attrs = {
        change["address"]: change["change"].get("after_unknown") or {} for change in shown.get("resource_changes", [])
    }
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for resource in values:
        by_type.setdefault(resource["type"], []).append(resource)

    def unknown(resource: Mapping[str, Any], attribute: str) -> bool:
        return bool(unknown_attrs.get(resource["address"], {}).get(attribute))

    def first(kind: str, attribute: str) -> str:
        return next((str(r["values"][attribute]) for r in data if r["type"] == kind and r["values"].get(attribute)), "")

    account, region = first("aws_caller_identity", "account_id"), first("aws_region", "name")
    partition = first("aws_partition", "partition") or "aws"
    if not account or not region:
        raise DocumentsError("the plan shows no aws_caller_identity / aws_region: is it a plan of an imgpipe root?")
    docs = Documents(account, region, partition, prefix, "plan")
    # The environment's key (module.kms); a pipeline root's plan (envs/cicd) has none of the stack's.
    key = next(
        (r for r in by_type.get("aws_kms_key", []) if r["address"].endswith("module.kms.aws_kms_key.this")), None
    )
    if key is not None:
        docs.key_arn = key["values"].get("arn") or f"arn:{partition}:kms:{region}:{account}:key/(known after apply)"
        _put(docs, docs.key_arn, key, "policy", unknown(key, "policy"))
    # The environment's other keys, by the aliases that name them (alias/<prefix>-<x>).
    keys_by_arn = {r["values"].get("arn"): r for r in by_type.get("aws_kms_key", []) if r["values"].get("arn")}
    for alias in by_type.get("aws_kms_alias", []):
        name, target = str(alias["values"].get("name", "")), alias["values"].get("target_key_arn")
        if name.startswith(f"alias/{prefix}-") and target in keys_by_arn:
            docs.keys[name.removeprefix(f"alias/{prefix}-")] = target
            _put(docs, target, keys_by_arn[target], "policy", unknown(keys_by_arn[target], "policy"))

    role_arns = {}
    for role in by_type.get("aws_iam_role", []):
        v = role["values"]
        if str(v.get("name", "")).startswith(f"{prefix}-"):
            role_arns[v["name"]] = v.get("arn") or f"arn:{partition}:iam::{account}:role/{v['name']}"
            docs.roles[v["name"]] = Role(role_arns[v["name"]], [])
    role_names = {r["address"]: str(r["values"].get("name", "")) for r in by_type.get("aws_iam_role", [])}
    for attached in by_type.get("aws_iam_role_policy", []):
        v = attached["values"]
        # A new role's id is known only after apply: the configuration says which role the policy names.
        name = str(v.get("role") or role_names.get(_referenced(shown, attached["address"], "role"), ""))
        name = name.rsplit("/", 1)[-1]
        if name in docs.roles:
            if unknown(attached, "policy"):
                docs.unknown.add(role_arns[name])
            else:
                docs.roles[name] = Role(docs.roles[name].arn, [*docs.roles[name].policies, json.loads(v["policy"])])
    managed = {p["values"].get("arn"): p for p in by_type.get("aws_iam_policy", [])}
    for attachment in by_type.get("aws_iam_role_policy_attachment", []):
        v = attachment["values"]
        name = str(v.get("role", ""))
        if name not in docs.roles:
            continue
        policy_arn = str(v.get("policy_arn", ""))
        if policy_arn in managed and managed[policy_arn]["values"].get("policy"):
            document = json.loads(managed[policy_arn]["values"]["policy"])
        else:
            document = AWS_MANAGED.get(policy_arn.rsplit("/", 1)[-1], UNRESOLVED_POLICY)
        docs.roles[name] = Role(docs.roles[name].arn, [*docs.roles[name].policies, document])

    for bucket in by_type.get("aws_s3_bucket", []):
        name = bucket["values"]["bucket"]
        kind = docs.bucket_kind(name)
        if kind:
            docs.buckets[kind] = name
            docs.resource_policies.setdefault(f"arn:{partition}:s3:::{name}", None)
    for policy in by_type.get("aws_s3_bucket_policy", []):
        _put(docs, f"arn:{partition}:s3:::{policy['values']['bucket']}", policy, "policy", unknown(policy, "policy"))
    declared = (plan_outputs(shown).get("authorization") or {}).get("bucket_policies") or {}
    for name, document in declared.items():
        arn = f"arn:{partition}:s3:::{name}"
        if docs.resource_policies.get(arn) is None and arn not in docs.unknown:
            docs.resource_policies[arn] = _doc(document)
            docs.notes[arn] = "declared by Terraform, not attached here (envs/local: enforce_bucket_policy=false)"
    for encryption in by_type.get("aws_s3_bucket_server_side_encryption_configuration", []):
        rule = (encryption["values"].get("rule") or [{}])[0]
        default = (rule.get("apply_server_side_encryption_by_default") or [{}])[0]
        if default.get("sse_algorithm") == "aws:kms":
            docs.encryption[f"arn:{partition}:s3:::{encryption['values']['bucket']}"] = (
                default.get("kms_master_key_id") or docs.key_arn
            )

    for kind, names, service in (("aws_sqs_queue", docs.queues, "sqs"), ("aws_sns_topic", docs.topics, "sns")):
        for store in by_type.get(kind, []):
            v = store["values"]
            arn = v.get("arn") or f"arn:{partition}:{service}:{region}:{account}:{v['name']}"
            names[docs.strip(v["name"])] = arn
            docs.resource_policies.setdefault(arn, None)
            if v.get("kms_master_key_id") or unknown(store, "kms_master_key_id"):
                docs.encryption[arn] = v.get("kms_master_key_id") or docs.key_arn
    for policy in by_type.get("aws_sqs_queue_policy", []):
        url = str(policy["values"].get("queue_url") or "")
        arn = f"arn:{partition}:sqs:{region}:{account}:{url.rsplit('/', 1)[-1]}" if url else ""
        if arn:
            _put(docs, arn, policy, "policy", unknown(policy, "policy"))
    for policy in by_type.get("aws_sns_topic_policy", []):
        arn = policy["values"].get("arn")
        if arn:
            _put(docs, arn, policy, "policy", unknown(policy, "policy"))

    for secret in by_type.get("aws_secretsmanager_secret", []):
        v = secret["values"]
        arn = v.get("arn") or f"arn:{partition}:secretsmanager:{region}:{account}:secret:{v['name']}-??????"
        docs.secrets[docs.strip(v["name"])] = arn
        docs.resource_policies.setdefault(arn, None)
        docs.encryption[arn] = v.get("kms_key_id") or docs.key_arn

    for table in by_type.get("aws_dynamodb_table", []):
        v = table["values"]
        arn = v.get("arn") or f"arn:{partition}:dynamodb:{region}:{account}:table/{v['name']}"
        docs.tables[docs.strip(v["name"])] = arn
        sse = (v.get("server_side_encryption") or [{}])[0]
        if sse.get("enabled"):
            docs.encryption[arn] = sse.get("kms_key_arn") or docs.key_arn

    for function in by_type.get("aws_lambda_function", []):
        v = function["values"]
        name = v["function_name"]
        arn = v.get("arn") or f"arn:{partition}:lambda:{region}:{account}:function:{name}"
        docs.functions[docs.strip(name)] = arn
        docs.function_roles[docs.strip(name)] = v.get("role") or ""
        docs.resource_policies.setdefault(arn, None)
        docs.resource_policies.setdefault(f"{arn}:live", None)
    for permission in by_type.get("aws_lambda_permission", []):
        _lambda_permission(docs, permission["values"])

    for rule in by_type.get("aws_cloudwatch_event_rule", []):
        v = rule["values"]
        docs.rules[docs.strip(v["name"])] = (
            v.get("arn") or f"arn:{partition}:events:{region}:{account}:rule/{v['name']}"
        )
    docs.rest_api_ids = [r["values"].get("id") or "*" for r in by_type.get("aws_api_gateway_rest_api", [])]
    docs.api_stage = next((str(s["values"]["stage_name"]) for s in by_type.get("aws_api_gateway_stage", [])), "*")
    docs.authorizer_ids = [a["values"].get("id") or "*" for a in by_type.get("aws_api_gateway_authorizer", [])]
    return docs


_MODULE = re.compile(r"module\.([A-Za-z0-9_-]+)(\[[^\]]*\])?\.")


def _referenced(shown: Mapping[str, Any], address: str, attribute: str) -> str:
    """The address of the resource that `attribute` of the resource at `address` refers to in the configuration
    (e.g. a role policy's role), or "" when the configuration does not say."""
    modules = _MODULE.findall(address)
    prefix = "".join(f"module.{name}{key}." for name, key in modules)
    local = address[len(prefix) :]
    index = local[local.index("[") :] if "[" in local else ""
    config = shown.get("configuration", {}).get("root_module", {})
    for name, _ in modules:
        config = config.get("module_calls", {}).get(name, {}).get("module", {})
    plain = local.split("[", 1)[0]
    for resource in config.get("resources", []):
        if resource.get("address") == plain:
            references = resource.get("expressions", {}).get(attribute, {}).get("references", [])
            if not references:
                return ""
            # The most specific comes first (aws_iam_role.x[0].id): drop the attribute, keep the instance key.
            reference = str(references[0])
            target = reference.rsplit(".", 1)[0] if reference.count(".") >= 2 else reference
            if "[" not in target and index:
                target += index
            return f"{prefix}{target}"
    return ""


def _from_arn(arn: Any, index: int) -> str:
    parts = str(arn or "").split(":")
    return parts[index] if len(parts) > index else ""


def _put(docs: Documents, arn: str, resource: Mapping[str, Any], attribute: str, is_unknown: bool) -> None:
    if is_unknown or not resource["values"].get(attribute):
        docs.unknown.add(arn)
        docs.resource_policies.setdefault(arn, None)
        return
    docs.resource_policies[arn] = json.loads(resource["values"][attribute])


def _lambda_permission(docs: Documents, v: Mapping[str, Any]) -> None:
    """A Lambda permission as the statement Lambda adds to the function's (or alias's) resource policy."""
    name = (
        str(v.get("function_name", "")).rsplit(":", 1)[-1]
        if str(v.get("function_name", "")).startswith("arn:")
        else str(v.get("function_name", ""))
    )
    function = docs.functions.get(docs.strip(name)) or (
        f"arn:{docs.partition}:lambda:{docs.region}:{docs.account}:function:{name}"
    )
    arn = f"{function}:{v['qualifier']}" if v.get("qualifier") else function
    principal = str(v.get("principal", ""))
    statement: dict[str, Any] = {
        "Sid": v.get("statement_id") or "permission",
        "Effect": "Allow",
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Action": v.get("action", "lambda:InvokeFunction"),
        "Resource": arn,
    }
    conditions: dict[str, dict[str, str]] = {}
    if v.get("source_arn"):
        conditions["ArnLike"] = {"AWS:SourceArn": str(v["source_arn"])}
    if v.get("source_account"):
        conditions["StringEquals"] = {"AWS:SourceAccount": str(v["source_account"])}
    if conditions:
        statement["Condition"] = conditions
    existing = docs.resource_policies.get(arn) or {"Version": "2012-10-17", "Statement": []}
    docs.resource_policies[arn] = {**existing, "Statement": [*existing["Statement"], statement]}


def merge(parts: list[Documents]) -> Documents:
    """Documents of one account and prefix from several roots (e.g. an environment's plan and its pipeline's)."""
    merged = parts[0]
    for part in parts[1:]:
        if (part.account, part.region, part.prefix) != (merged.account, merged.region, merged.prefix):
            raise DocumentsError("plans of different accounts, regions or environments cannot be evaluated together")
        for name in ("roles", "resource_policies", "encryption", "notes", "buckets", "queues", "topics", "tables",
                     "secrets", "functions", "function_roles", "rules"):  # fmt: skip
            getattr(merged, name).update(getattr(part, name))
        merged.unknown |= part.unknown
        merged.rest_api_ids = merged.rest_api_ids or part.rest_api_ids
        merged.authorizer_ids = merged.authorizer_ids or part.authorizer_ids
        if merged.api_stage == "*":
            merged.api_stage = part.api_stage
        merged.key_arn = merged.key_arn or part.key_arn
    return merged


def plan_outputs(shown: Mapping[str, Any]) -> dict[str, Any]:
    """The environment's `pipeline` output as the plan knows it (Terraform shows an output only once all of it is
    known, so on a first deploy: nothing), with its `perimeter` output, which is known at plan time."""
    outputs = shown.get("planned_values", {}).get("outputs", {})
    value = outputs.get("pipeline", {}).get("value")
    found = dict(value) if isinstance(value, Mapping) else {}
    perimeter = outputs.get("perimeter", {}).get("value")
    if isinstance(perimeter, Mapping):
        found["perimeter"] = dict(perimeter)
    return found
