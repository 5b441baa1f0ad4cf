"""The authorization matrix over the documents deployed into the emulator (which itself evaluates none of them):
every required edge allowed and every forbidden one refused, the same verdicts from a saved plan of the same
stack, and the evaluator proven not to be vacuous — each defect it exists to catch, put back into a copy of the
real documents, fails exactly its edge."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from scripts.local import stack
from scripts.ops import iam_audit
from scripts.ops.authz import __main__ as cli
from scripts.ops.authz import documents, matrix
from scripts.ops.authz.engine import Role
from tests.integration import plans

pytestmark = pytest.mark.integration
PREFIX = "imgpipe-local"
# The pipeline's roles live in envs/cicd: test_the_pipelines_roles_hold_their_edges evaluates their edges.
PIPELINE_EDGES = {
    "plan-role-cannot-write-objects",
    "plan-role-cannot-read-images",
    "plan-role-refreshes-the-key-registry",
    "plan-role-cannot-read-the-pepper",
    "plan-role-cannot-use-the-key-via-s3",
    "apply-role-cannot-read-images",
    "apply-role-deploys-encrypted-functions",
    "apply-role-cannot-read-items",
    "apply-role-writes-the-state",
    "apply-role-cannot-destroy-state-versions",
    "apply-role-cannot-delete-the-state-bucket",
    "test-role-cannot-touch-images",
    "image-role-pushes-worker-images",
    "image-role-cannot-touch-images",
}
# Opt-in principals and features envs/local does not deploy (its relaxations are asserted in envs/local's tests).
LOCAL_NOT_APPLICABLE = {
    "guardduty-scans-raw-objects",  # Malware Protection for S3: moto holds no plan
    "guardduty-tags-its-verdict",
    "quicksight-reads-the-exports",  # QuickSight needs a subscription
} | PIPELINE_EDGES


@pytest.fixture(scope="module")
def environment(local_stack: stack.StackConfig, deployed: dict[str, Any]) -> matrix.Environment:
    docs = documents.from_aws(
        lambda service: stack.aws_client(local_stack, service),
        PREFIX,
        declared_bucket_policies=deployed["authorization"]["bucket_policies"],
    )
    return cli.environment_from_outputs(docs, deployed)


def verdicts_by_id(env: matrix.Environment) -> dict[str, matrix.Verdict]:
    return {v.edge.id: v for v in matrix.evaluate_all(matrix.load(), env)}


def test_every_edge_of_the_matrix_holds_on_the_deployed_documents(environment: matrix.Environment) -> None:
    verdicts = verdicts_by_id(environment)
    failing = {i: v.reasons for i, v in verdicts.items() if not v.holds}
    assert failing == {}
    assert {i for i, v in verdicts.items() if v.outcome == "n/a"} == LOCAL_NOT_APPLICABLE
    # The bucket policies envs/local does not attach (moto would apply their conditions to every request) are
    # evaluated as declared, and said to be.
    assert set(environment.documents.notes) == {
        f"arn:aws:s3:::{name}" for name in environment.documents.buckets.values()
    }


def drop_statement(env: matrix.Environment, resource: str, sid: str) -> matrix.Environment:
    broken = copy.deepcopy(env)
    policy = broken.documents.resource_policies[resource]
    assert policy is not None
    kept = [s for s in policy["Statement"] if s.get("Sid") != sid]
    assert len(kept) == len(policy["Statement"]) - 1, f"{sid} not in {resource}'s policy"
    broken.documents.resource_policies[resource] = {**policy, "Statement": kept}
    return broken


def failing(env: matrix.Environment) -> set[str]:
    return {i for i, v in verdicts_by_id(env).items() if not v.holds}


def test_the_alarm_topic_defect_is_caught(environment: matrix.Environment) -> None:
    # The defect #17 found by reading: the topic is encrypted with the environment's key, but the key policy did
    # not let CloudWatch use it, so on AWS every alarm would change state and notify nobody.
    docs = environment.documents
    broken = drop_statement(environment, docs.key_arn, "AllowCloudWatchAlarmsToPublishToEncryptedTopics")
    assert failing(broken) == {"alarms-notify-the-topic"}
    verdict = verdicts_by_id(broken)["alarms-notify-the-topic"]
    assert "sns:Publish" in verdict.reasons[0] and "allowed" in verdict.reasons[0]  # the topic policy was fine
    assert "kms:GenerateDataKey" in verdict.reasons[-1]  # the key was not


@pytest.mark.parametrize(
    ("store", "sid", "edge"),
    [
        ("queue:raw-events", "AllowRawBucketNotifications", "s3-notifies-raw-events"),
        ("key", "AllowS3EventNotificationsToEncryptedQueues", "s3-notifies-raw-events"),
        ("key", "AllowCloudWatchLogsForAccountLogGroups", "logs-encrypt-function-logs"),
        ("key", "AllowCloudTrailToEncryptItsLogs", "cloudtrail-encrypts-its-files"),
        ("bucket:trail", "AllowCloudTrailWrite", "cloudtrail-delivers-to-the-trail-bucket"),
        ("topic:alarms", "CloudWatchAlarmsOfThisAccountPublish", "alarms-notify-the-topic"),
        ("alias:retention_audit", "RunOnSchedule", "schedule-runs-the-retention-audit"),
        ("alias:api_authorizer", "AllowInvokeFromIngestApiAuthorizer", "api-invokes-the-authorizer"),
    ],
)
def test_each_service_grant_is_what_its_edge_rests_on(
    environment: matrix.Environment, store: str, sid: str, edge: str
) -> None:
    docs = environment.documents
    kind, _, name = store.partition(":")
    resource = {
        "key": lambda: docs.key_arn,
        "queue": lambda: docs.queues[name],
        "topic": lambda: docs.topics[name],
        "bucket": lambda: f"arn:aws:s3:::{docs.buckets[name]}",
        "alias": lambda: f"{docs.functions[name]}:live",
    }[kind]()
    assert edge in failing(drop_statement(environment, resource, sid))


def test_the_perimeters_are_what_the_outsider_edges_rest_on(environment: matrix.Environment) -> None:
    docs = environment.documents
    # The key policy as it was before the perimeter: the account root held kms:*, so any principal whose IAM
    # allowed kms:Decrypt (PowerUserAccess does) could use the key, and through it read queues and secrets.
    old_root = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:*", "Resource": "*"}  # fmt: skip
    broken = drop_statement(environment, docs.key_arn, "KeyAdministrationThroughIam")
    key_policy = broken.documents.resource_policies[docs.key_arn]
    assert key_policy is not None
    broken.documents.resource_policies[docs.key_arn] = {**key_policy, "Statement": [old_root, *key_policy["Statement"]]}
    assert failing(broken) == {
        "outsider-cannot-use-the-key-via-s3",
        "outsider-cannot-use-the-key-directly",
        "outsider-cannot-read-the-key-registry",
        "outsider-cannot-read-the-pepper",
        "outsider-cannot-read-key-records",
        "outsider-cannot-read-raw-events",
        "deployer-cannot-read-images-via-s3",
    }
    # Without the raw bucket's perimeter the key still keeps bytes from outsiders; the listing is what leaks.
    raw = f"arn:aws:s3:::{docs.buckets['raw']}"
    assert failing(drop_statement(environment, raw, "DenyDataAccessOutsideThePerimeter")) == {
        "outsider-cannot-list-raw"
    }


def test_a_broadened_role_fails_the_forbidden_edges(environment: matrix.Environment) -> None:
    broken = copy.deepcopy(environment)
    role = f"{PREFIX}-upload_api"
    original = broken.documents.roles[role]
    widened = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    broken.documents.roles[role] = type(original)(original.arn, [*original.policies, widened])
    assert failing(broken) == {"upload-api-cannot-read-raw"}


def test_a_saved_plan_of_the_same_stack_gives_the_same_verdicts(
    environment: matrix.Environment, second_plan: plans.SecondPlan
) -> None:
    shown = second_plan.shown
    planned = cli.environment_from_outputs(documents.from_plan(shown, PREFIX), documents.plan_outputs(shown))
    from_plan = {i: v.outcome for i, v in verdicts_by_id(planned).items()}
    deployed_verdicts = {i: v.outcome for i, v in verdicts_by_id(environment).items()}
    assert from_plan == deployed_verdicts
    assert planned.documents.unknown == set()  # a plan over an existing stack knows every document


def test_a_plan_in_the_shape_of_staging_holds_the_opt_in_edges_too(staging_shape_plan: dict[str, Any]) -> None:
    # The deployed stack planned as staging would run it (tests/integration/plans.py: bucket policies attached,
    # Malware Protection on, QuickSight on). Only planned (the emulator holds neither a malware plan nor
    # QuickSight): what a saved plan gives the pipeline's plan stage.
    shown = staging_shape_plan
    docs = documents.from_plan(shown, PREFIX)
    assert docs.notes == {}  # every bucket policy is attached here, not declared
    outputs = documents.plan_outputs(shown)
    assert "rest_api_id" not in outputs  # the pipeline output waits for apply (new resources) ...
    assert outputs["perimeter"]["features"] == {"quicksight": True}  # ... the perimeter is known now
    env = cli.environment_from_outputs(docs, outputs)
    verdicts = verdicts_by_id(env)
    assert {i: v.reasons for i, v in verdicts.items() if v.decided and not v.holds} == {}
    for edge in ("guardduty-scans-raw-objects", "guardduty-tags-its-verdict", "quicksight-reads-the-exports"):
        assert verdicts[edge].outcome == "allow", (edge, verdicts[edge].reasons)
    assert "resource:DenyDataAccessOutsideThePerimeter" in verdicts["outsider-cannot-list-raw"].reasons[0]


def test_the_deployed_resource_and_key_policies_pass_the_audit(environment: matrix.Environment) -> None:
    # What `python -m scripts.ops.iam_audit --env staging` checks on a real account, here on the emulator's documents.
    docs = environment.documents
    assert len([d for d in docs.resource_policies.values() if d]) >= 15  # key, buckets, queues, topic, aliases
    assert iam_audit.check_resource_policies(docs) == []


@pytest.fixture(scope="module")
def with_pipeline_roles(environment: matrix.Environment, pipeline_roles: dict[str, Role]) -> matrix.Environment:
    assert set(pipeline_roles) == {f"imgpipe-staging-cicd-{stage}" for stage in ("test", "image", "plan", "apply")}
    renamed = copy.deepcopy(environment)
    for name, role in pipeline_roles.items():
        text = json.dumps([role.arn, list(role.policies)])
        arn, policies = json.loads(
            text.replace("imgpipe-staging", PREFIX).replace("imgpipe/staging/", "imgpipe/local/")
        )
        renamed.documents.roles[name.replace("imgpipe-staging", PREFIX)] = type(role)(arn, policies)
    return renamed


def test_the_pipelines_roles_hold_their_edges(with_pipeline_roles: matrix.Environment) -> None:
    verdicts = verdicts_by_id(with_pipeline_roles)
    assert {i for i, v in verdicts.items() if v.outcome == "n/a"} == LOCAL_NOT_APPLICABLE - PIPELINE_EDGES
    assert {i: v.reasons for i, v in verdicts.items() if not v.holds} == {}
    assert (
        "explicit deny identity:StateAndArtifactBucketsStayAsBootstrapped"
        in (verdicts["apply-role-cannot-destroy-state-versions"].reasons[0])
    )
    # Two fences, each enough: without the raw bucket's perimeter, the plan role's own explicit deny takes back
    # what AWS's ReadOnlyAccess (moto ships the real document) would let it read.
    raw = f"arn:aws:s3:::{with_pipeline_roles.documents.buckets['raw']}"
    unfenced = verdicts_by_id(drop_statement(with_pipeline_roles, raw, "DenyDataAccessOutsideThePerimeter"))
    assert unfenced["plan-role-cannot-read-images"].outcome == "deny"
    assert "explicit deny identity:NoObjectsButStateAndArtifacts" in unfenced["plan-role-cannot-read-images"].reasons[0]
