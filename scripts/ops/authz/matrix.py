"""The authorization matrix (matrix.yaml) resolved against one environment's documents and evaluated edge by edge.

An edge holds when its verdict is its expectation: every request it implies allowed (the call itself and the key
use its store implies) for `allow`, at least one of them refused for `deny`. An edge is `n/a` where what it is
about does not exist (an opt-in feature), and `undecided` where a saved plan cannot know a document yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scripts.cli import REPO_ROOT
from scripts.ops.authz import engine
from scripts.ops.authz.documents import Documents

MATRIX_PATH = Path(__file__).with_name("matrix.yaml")
OUTSIDER_NAME = "imgpipe-authz-outsider"  # a role no environment creates: someone else's power user


class MatrixError(ValueError):
    """The matrix names something this environment's documents cannot resolve."""


class NotApplicable(Exception):
    """The edge is about an opt-in principal or store this environment does not have."""


@dataclass(frozen=True)
class Edge:
    id: str
    principal: str
    action: str
    resource: str
    expect: str
    why: str = ""
    context: Mapping[str, str] | None = None
    key_use: str = "derived"
    only_with: str | None = None


@dataclass(frozen=True)
class Verdict:
    edge: Edge
    outcome: str  # "allow", "deny", "n/a", "undecided"
    reasons: tuple[str, ...]

    @property
    def holds(self) -> bool:
        return self.outcome in ("n/a", self.edge.expect)

    @property
    def decided(self) -> bool:
        return self.outcome in ("allow", "deny")


def load(path: Path = MATRIX_PATH) -> list[Edge]:
    raw = yaml.safe_load(path.read_text())
    edges = [Edge(**entry) for entry in raw["edges"]]
    ids = [e.id for e in edges]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise MatrixError(f"edge ids used twice: {sorted(duplicates)}")
    for edge in edges:
        if edge.expect not in ("allow", "deny"):
            raise MatrixError(f"{edge.id}: expect must be allow or deny, not {edge.expect!r}")
        if edge.key_use not in ("derived", "none"):
            raise MatrixError(f"{edge.id}: key_use must be derived or none")
    return edges


@dataclass(frozen=True)
class Environment:
    """What the matrix resolves against: the documents, plus what only the deployment knows."""

    documents: Documents
    break_glass_arn: str | None = None
    features: frozenset[str] = frozenset()  # opt-in features that are on (e.g. "quicksight")
    deployer_role_arns: tuple[str, ...] = ()


class _Resolver:
    def __init__(self, env: Environment) -> None:
        self.env = env
        self.docs = env.documents

    def fill(self, text: str) -> str:
        d = self.docs
        environment = d.prefix.split("-", 1)[-1]
        return text.format(
            account=d.account, region=d.region, partition=d.partition, prefix=d.prefix, environment=environment
        )

    def require(self, what: str | None) -> None:
        if what is None:
            return
        kind, _, name = what.partition(":")
        present = {
            "bucket": lambda: name in self.docs.buckets,
            "role": lambda: f"{self.docs.prefix}-{name}" in self.docs.roles,
            "function": lambda: name in self.docs.functions,
            "queue": lambda: name in self.docs.queues,
            "break-glass": lambda: self.env.break_glass_arn is not None,
            "deployer": lambda: bool(self.env.deployer_role_arns),
        }.get(kind, lambda: what in self.env.features)()
        if not present:
            raise NotApplicable(what)

    def bucket_arn(self, kind: str) -> str:
        if kind not in self.docs.buckets:
            raise MatrixError(f"no {kind} bucket ({self.docs.prefix}-{kind}-…) in this environment")
        return f"arn:{self.docs.partition}:s3:::{self.docs.buckets[kind]}"

    def named(self, table: Mapping[str, str], what: str, name: str) -> str:
        if name not in table:
            raise MatrixError(f"no {what} {self.docs.prefix}-{name} in this environment (have {sorted(table)})")
        return table[name]

    def reference(self, value: str) -> str:
        """A context value: a reference to something deployed, or a template."""
        d = self.docs
        kind, _, name = value.partition(":")
        if kind == "bucket":
            return self.bucket_arn(name)
        if kind == "rule":
            return self.named(d.rules, "rule", name)
        if kind == "alarm":
            return f"arn:{d.partition}:cloudwatch:{d.region}:{d.account}:alarm:{d.prefix}-{name}"
        if value == "key":
            return d.key_arn
        if value == "trail":
            return f"arn:{d.partition}:cloudtrail:{d.region}:{d.account}:trail/{d.prefix}"
        if kind == "execute-api":
            if not d.rest_api_ids:
                raise MatrixError("no REST API in this environment")
            return f"arn:{d.partition}:execute-api:{d.region}:{d.account}:{d.rest_api_ids[0]}/{d.api_stage}/{name}"
        if value == "authorizer":
            if not d.rest_api_ids or not d.authorizer_ids:
                raise MatrixError("no REST API authorizer in this environment")
            api = d.rest_api_ids[0]
            return f"arn:{d.partition}:execute-api:{d.region}:{d.account}:{api}/authorizers/{d.authorizer_ids[0]}"
        return self.fill(value)

    def principal(self, text: str) -> engine.Role | engine.Service:
        d = self.docs
        kind, _, name = text.partition(":")
        if kind == "service":
            return engine.Service(self.fill(name))
        if kind == "function":
            role_arn = self.named(d.function_roles, "function", name)
            role_name = role_arn.rsplit("/", 1)[-1]
            if role_name not in d.roles:
                raise MatrixError(f"function {name} runs as {role_arn}, which is not among the documents' roles")
            return d.roles[role_name]
        if kind == "role":
            if f"{d.prefix}-{name}" not in d.roles:
                raise MatrixError(f"no role {d.prefix}-{name} in this environment")
            return d.roles[f"{d.prefix}-{name}"]
        if text == "outsider":
            arn = f"arn:{d.partition}:iam::{d.account}:role/{OUTSIDER_NAME}"
            return engine.Role(arn, [engine.POWER_USER_POLICY])
        if text == "deployer":
            if not self.env.deployer_role_arns:
                raise MatrixError("this environment names no deployer role")
            return engine.Role(self.env.deployer_role_arns[0], [_ALLOW_ALL])
        if text == "break-glass":
            assert self.env.break_glass_arn is not None
            return engine.Role(self.env.break_glass_arn, [_ALLOW_ALL])
        if kind == "external":
            return engine.Role(self.fill(name), [_ALLOW_ALL])
        raise MatrixError(f"unknown principal {text!r}")

    def resource(self, text: str) -> tuple[str, str | None]:
        """(resource ARN, ARN of the store whose encryption applies — None when the resource is not a store)."""
        d = self.docs
        kind, _, name = text.partition(":")
        if kind == "object":
            bucket_kind, _, key = name.partition("/")
            bucket = self.bucket_arn(bucket_kind)
            return f"{bucket}/{self.fill(key)}", bucket
        if kind == "bucket":
            return self.bucket_arn(name), None
        if kind == "queue":
            arn = self.named(d.queues, "queue", name)
            return arn, arn
        if kind == "topic":
            arn = self.named(d.topics, "topic", name)
            return arn, arn
        if kind == "secret":
            arn = self.named(d.secrets, "secret", name)
            return arn, arn
        if kind == "table":
            table, _, index = name.partition("/")
            arn = self.named(d.tables, "table", table)
            return (f"{arn}/{index}" if index else arn), arn
        if kind == "stream":
            arn = self.named(d.tables, "table", name)
            return f"{arn}/stream/2026-12-02T00:00:00.000", arn
        if kind == "alias":
            return f"{self.named(d.functions, 'function', name)}:live", None
        if text == "key":
            return d.key_arn, None
        if kind == "key":  # another key of the environment, by its alias suffix (key:cursors)
            return self.named(d.keys, "key alias", name), None
        if kind == "arn":  # something outside the environment's stores (the Terraform state)
            return self.fill(name), None
        raise MatrixError(f"unknown resource {text!r}")


_ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def requests_for(edge: Edge, env: Environment) -> list[engine.Request]:
    """Every request the edge implies: the call itself, then the key use of the store it touches."""
    r = _Resolver(env)
    r.require(edge.only_with)
    principal = r.principal(edge.principal)
    resource, store = r.resource(edge.resource)
    context = {k: r.reference(str(v)) for k, v in (edge.context or {}).items()}
    call = engine.Request(principal, edge.action, resource, context)
    requests = [call]
    key = env.documents.encryption.get(store) if store else None
    if key and edge.key_use == "derived":
        requests += engine.key_requests(call, key, env.documents.region)
    return requests


def _policy_of(request: engine.Request, docs: Documents) -> tuple[str, Mapping[str, Any] | None]:
    return docs.policy_for(request.resource.split("/stream/")[0].split("/index/")[0])


def evaluate(edge: Edge, env: Environment) -> Verdict:
    try:
        requests = requests_for(edge, env)
    except NotApplicable as missing:
        return Verdict(edge, "n/a", (f"this environment has no {missing}",))
    reasons = []
    for request in requests:
        governing, policy = _policy_of(request, env.documents)
        if request.action.startswith("kms:") and governing not in env.documents.resource_policies:
            return Verdict(edge, "undecided", (f"{governing}: this key's policy is not among the documents",))
        if governing in env.documents.unknown:
            return Verdict(edge, "undecided", (f"{governing}: its policy is known only after apply",))
        if isinstance(request.principal, engine.Role) and request.principal.arn in env.documents.unknown:
            return Verdict(edge, "undecided", (f"{request.principal.arn}: its policy is known only after apply",))
        decision = engine.decide(request, policy)
        reasons.append(f"{request.action} on {_short(request.resource)}: {decision.reason}")
        if not decision.allowed:
            return Verdict(edge, "deny", tuple(reasons))
    return Verdict(edge, "allow", tuple(reasons))


def evaluate_all(edges: Iterable[Edge], env: Environment) -> list[Verdict]:
    return [evaluate(edge, env) for edge in edges]


def _short(arn: str) -> str:
    return arn.split(":::", 1)[-1] if ":::" in arn else arn.rsplit(":", 1)[-1] if arn.count(":") >= 5 else arn


def markdown(edges: Iterable[Edge]) -> str:
    """The matrix as the table docs/security.md shows."""
    lines = ["| edge | principal | action | resource | expected | why |", "| --- | --- | --- | --- | --- | --- |"]
    for e in edges:
        only = f" (with {e.only_with})" if e.only_with else ""
        why = e.why.replace("|", "\\|")
        lines.append(f"| `{e.id}` | `{e.principal}` | `{e.action}` | `{e.resource}` | **{e.expect}**{only} | {why} |")
    return "\n".join(lines) + "\n"


DOCS_PATH = REPO_ROOT / "docs" / "security.md"
DOCS_START, DOCS_END = (
    "<!-- authz-matrix:start (python -m scripts.ops.authz --write-docs) -->",
    "<!-- authz-matrix:end -->",
)


def docs_with_matrix(text: str, edges: Iterable[Edge]) -> str:
    """`text` (docs/security.md) with the table between its markers replaced by the matrix as it is now."""
    if DOCS_START not in text or DOCS_END not in text:
        raise MatrixError(f"docs/security.md lacks the markers {DOCS_START} … {DOCS_END}")
    head, rest = text.split(DOCS_START, 1)
    _, tail = rest.split(DOCS_END, 1)
    return f"{head}{DOCS_START}\n{markdown(edges)}{DOCS_END}{tail}"
