"""Least privilege, proven on what was deployed: every role of the local environment read back from the
emulator's IAM, no finding by any rule of scripts.ops.iam_audit, and each function's reach into the data stores
exactly the design's — a role that gains another function's data, a wildcard or an unbound key grant fails."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.local import stack
from scripts.ops import iam_audit

pytestmark = pytest.mark.integration
P = "imgpipe-local"


@pytest.fixture(scope="module")
def policies(local_stack: stack.StackConfig, deployed: dict[str, Any]) -> list[iam_audit.RolePolicy]:
    return iam_audit.role_policies(stack.aws_client(local_stack, "iam"), f"{P}-")


def test_every_deployed_policy_passes_every_rule(
    local_stack: stack.StackConfig, policies: list[iam_audit.RolePolicy]
) -> None:
    roles = iam_audit.function_roles(stack.aws_client(local_stack, "lambda"))
    assert len(roles) == 6 and set(roles) <= {p.role for p in policies}  # every function's role is audited
    assert iam_audit.check(policies, roles) == []


def test_each_function_reaches_exactly_its_own_data(
    policies: list[iam_audit.RolePolicy], deployed: dict[str, Any]
) -> None:
    raw, processed = deployed["raw_bucket_name"], deployed["processed_bucket_name"]
    analytics, results = deployed["analytics"]["bucket_name"], deployed["analytics"]["results_bucket_name"]
    trail = deployed["security"]["trail_bucket_name"]
    images = deployed["metadata_table_name"]
    buckets = [raw, processed, analytics, results, trail]
    expected = {
        f"{P}-api_authorizer": {
            f"dynamodb:{P}-api-keys": "read",
            f"secretsmanager:{P}/api-key-pepper": "read",
            "kms:key": "use",
        },
        f"{P}-upload_api": {
            f"s3:{raw}/raw/*": "write",
            f"s3:{raw}": "read",
            f"s3:{processed}/*": "read",  # presigned links to renditions
            f"s3:{processed}/renditions/*": "write",  # DELETE /v1/images/{id} purges them
            f"s3:{processed}": "read",  # the versions of the keys it purges
            f"dynamodb:{images}": "write",
            f"dynamodb:{images}/index/*": "write",  # one statement with the table; queries only, by the code
            f"dynamodb:{P}-api-idempotency": "write",
            "kms:key": "use",
        },
        f"{P}-image_processor": {
            f"s3:{raw}/raw/*": "write",
            f"s3:{raw}": "read",
            f"s3:{processed}/renditions/*": "write",
            f"s3:{processed}": "read",  # the versions of renditions it purges (an image deleted while processed)
            f"dynamodb:{images}": "write",
            f"sqs:{P}-raw-events": "write",
            f"sqs:{P}-large-images": "write",  # split mode (envs/local): passes large images on
            "kms:key": "use",
        },
        # envs/local runs split: the workers' task role does what the processor does, from their own queue.
        f"{P}-workers-task": {
            f"s3:{raw}/raw/*": "write",
            f"s3:{raw}": "read",
            f"s3:{processed}/renditions/*": "write",
            f"s3:{processed}": "read",
            f"dynamodb:{images}": "write",
            f"sqs:{P}-large-images": "write",
            "kms:key": "use",
        },
        f"{P}-workers-execution": {},  # pulls the image and writes its log stream: no data at all
        f"{P}-kafka_ingest": {
            f"s3:{raw}/raw/*": "write",
            f"s3:{raw}/staging/*": "write",
            f"s3:{raw}": "read",
            f"dynamodb:{images}": "write",
            f"dynamodb:{P}-kafka-idempotency": "write",
            f"sqs:{P}-kafka-rejects": "write",
            "kms:key": "use",
        },
        f"{P}-metadata_export": {
            f"dynamodb:{images}/stream/*": "read",
            f"s3:{analytics}/exports/v1/*": "write",
            f"sqs:{P}-export-failures": "write",
            "kms:key": "use",
        },
        # The audit deletes what outlived the window anywhere image-derived; it reads nothing's content.
        f"{P}-retention_audit": {
            **{f"s3:{b}": "read" for b in buckets},
            **{f"s3:{b}/*": "write" for b in buckets},
            f"dynamodb:{images}/index/by_day": "read",
            f"dynamodb:{images}": "write",
            "kms:key": "use",
        },
        # envs/local turns the analyst role on (so the authorization matrix covers it): exports and its results.
        f"{P}-analyst": {
            f"athena:workgroup/{P}-analytics": "write",  # start and stop its own queries
            "glue:catalog": "read",
            "glue:database/imgpipe_local_analytics": "read",
            "glue:table/imgpipe_local_analytics/*": "read",
            f"s3:{analytics}/exports/v1/*": "read",
            f"s3:{analytics}": "read",
            f"s3:{results}/results/*": "write",
            f"s3:{results}": "read",
            "kms:key": "use",
        },
    }
    assert iam_audit.access_map(policies) == expected


def test_no_function_may_read_object_content_it_does_not_process(policies: list[iam_audit.RolePolicy]) -> None:
    content_readers = {
        p.role
        for p in policies
        for s in iam_audit.statements(p.document)
        if s.get("Effect") == "Allow" and "s3:GetObject" in iam_audit.as_list(s.get("Action"))
    }
    # the processor reads raw bytes, the API signs links to renditions, Kafka reads its claim-checks, the analyst
    # reads exports (and nothing else: scripts/ops/authz's matrix and the buckets' perimeter hold it there)
    assert content_readers == {
        f"{P}-image_processor",
        f"{P}-workers-task",  # the same processor as a container (split mode, envs/local)
        f"{P}-upload_api",
        f"{P}-kafka_ingest",
        f"{P}-analyst",
    }
