"""The retention guarantee on the deployed stack: images in through both paths, processed, then the clock moved.
At 6 days 23 hours everything is still there; 7 days and an hour after, lifecycle, TTL (read back from the
emulator) and the deployed audit leave no object version, no item, no violation. And every store the
deployment created carries a bound no longer than the retention: a new store without one fails here."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from confluent_kafka import Producer
from PIL import Image

from scripts.local import stack
from scripts.local import time_travel as local_retention
from scripts.local import worker as local_worker

pytestmark = pytest.mark.integration


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40 + seed, 30), (seed * 50 % 256, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def versions(cfg: stack.StackConfig, bucket: str) -> list[str]:
    pages = stack.aws_client(cfg, "s3").get_paginator("list_object_versions").paginate(Bucket=bucket)
    return [e["Key"] for p in pages for e in p.get("Versions", []) + p.get("DeleteMarkers", [])]


def item_ids(cfg: stack.StackConfig, table: str) -> set[str]:
    pages = stack.aws_client(cfg, "dynamodb").get_paginator("scan").paginate(TableName=table)
    return {i["image_id"]["S"] for p in pages for i in p["Items"]}


def test_everything_image_derived_is_gone_after_the_window_and_not_before(
    local_stack: stack.StackConfig, deployed: dict[str, Any], base_url: str, keys: dict[str, str]
) -> None:
    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed)
    [kafka] = worker.kafka_pollers
    api_ids = []
    for n in range(2):
        created = requests.put(
            f"{base_url}/v1/images",
            data=png(n),
            headers={"x-api-key": keys["good"], "Content-Type": "image/png"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        api_ids.append(created.json()["image_id"])
    source_id = f"it-retention-{time.time_ns()}"  # envs/local maps it-* to a tenant
    producer = Producer({"bootstrap.servers": local_stack.kafka_bootstrap, "acks": "all"})
    for n in range(2):
        producer.produce(
            deployed["kafka_event_source"]["topic"],
            value=png(10 + n),
            headers=[("content-type", b"image/png"), ("source-id", source_id.encode())],
        )
    assert producer.flush(15) == 0

    table, raw, processed = (
        deployed["metadata_table_name"],
        deployed["raw_bucket_name"],
        deployed["processed_bucket_name"],
    )
    dynamodb = stack.aws_client(local_stack, "dynamodb")

    def statuses() -> dict[str, str]:
        pages = dynamodb.get_paginator("scan").paginate(TableName=table)
        return {
            i["image_id"]["S"]: i["status"]["S"]
            for p in pages
            for i in p["Items"]
            if i["image_id"]["S"] in api_ids or i.get("owner", {}).get("S") == source_id
        }

    deadline = time.monotonic() + 120
    while len(statuses()) < 4 or set(statuses().values()) != {"PROCESSED"}:
        assert time.monotonic() < deadline, statuses()
        kafka.poll_once()
        worker.pollers[0].poll_once(wait_s=0)
    kafka.close()
    ours = set(statuses())
    assert ours <= item_ids(local_stack, table)

    almost = local_retention.fast_forward(local_stack, datetime.now(UTC) + timedelta(days=6, hours=23))
    assert almost.scheduled["imgpipe-local-retention_audit"]["purged_items"] == 0
    assert ours <= item_ids(local_stack, table)
    assert len([k for k in versions(local_stack, processed) if k.split("/")[-2] in ours]) >= 4 * 4  # renditions
    for image_id in api_ids:
        fetched = requests.get(f"{base_url}/v1/images/{image_id}", headers={"x-api-key": keys["good"]}, timeout=30)
        assert fetched.status_code == 200

    done = local_retention.fast_forward(local_stack, datetime.now(UTC) + timedelta(days=7, hours=1))
    audit = done.scheduled["imgpipe-local-retention_audit"]
    assert audit["violations"] == 0, audit
    assert versions(local_stack, raw) == [] and versions(local_stack, processed) == []  # every version
    for bucket in deployed["retention_audit"]["audited_buckets"]:  # exports and Athena results included
        assert versions(local_stack, bucket) == [], bucket
    assert not ours & item_ids(local_stack, table)
    assert done.lifecycle_and_ttl["ttl_deleted"] >= 4  # TTL took the items; the audit the object versions
    assert sum(audit["purged_versions"].values()) > 0
    for image_id in api_ids:
        fetched = requests.get(f"{base_url}/v1/images/{image_id}", headers={"x-api-key": keys["good"]}, timeout=30)
        assert fetched.status_code == 404


def test_an_item_whose_ttl_lags_is_invisible_and_purged_by_the_audit(
    local_stack: stack.StackConfig, deployed: dict[str, Any], base_url: str, keys: dict[str, str]
) -> None:
    created = requests.put(
        f"{base_url}/v1/images",
        data=png(20),
        headers={"x-api-key": keys["good"], "Content-Type": "image/png"},
        timeout=30,
    ).json()
    image_id, table = created["image_id"], deployed["metadata_table_name"]
    # Expired an hour ago; TTL has not come by (the sweep is not run: only the audit is).
    stack.aws_client(local_stack, "dynamodb").update_item(
        TableName=table,
        Key={"image_id": {"S": image_id}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 3600)}},
    )
    fetched = requests.get(f"{base_url}/v1/images/{image_id}", headers={"x-api-key": keys["good"]}, timeout=30)
    assert fetched.status_code == 404  # gone for every reader before anything deleted it

    results = local_retention.run_schedules(local_stack, datetime.now(UTC))
    audit = results["imgpipe-local-retention_audit"]
    assert audit["purged_items"] >= 1 and audit["violations"] == 0
    assert image_id not in item_ids(local_stack, table)
    assert not [k for k in versions(local_stack, deployed["raw_bucket_name"]) if k.endswith(image_id)]


def test_every_deployed_store_is_bounded_by_the_retention(
    local_stack: stack.StackConfig, deployed: dict[str, Any]
) -> None:
    """Generic on purpose: whatever buckets, queues, log groups and tables the deployment holds, each one expires
    its contents within retention_days. A new store added without a bound fails this test."""
    days = deployed["retention_days"]
    s3 = stack.aws_client(local_stack, "s3")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("imgpipe-local-")]
    assert len(buckets) >= 2
    for bucket in buckets:
        rules = [r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] if r["Status"] == "Enabled"]
        whole_bucket = [r for r in rules if not (r.get("Filter") or {}).get("Prefix")]
        assert any(0 < r.get("Expiration", {}).get("Days", 99) <= days for r in whole_bucket), bucket
        assert any(
            0 < r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays", 99) <= days for r in whole_bucket
        ), bucket
        assert any(r.get("AbortIncompleteMultipartUpload") for r in whole_bucket), bucket
        assert bucket in deployed["retention_audit"]["audited_buckets"], f"{bucket} is not audited"

    sqs = stack.aws_client(local_stack, "sqs")
    queues = [u for u in sqs.list_queues(QueueNamePrefix="imgpipe-local-").get("QueueUrls", [])]
    assert len(queues) >= 3
    for url in queues:
        period = int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])["Attributes"][
                "MessageRetentionPeriod"
            ]
        )
        assert period <= days * 86400, url

    logs = stack.aws_client(local_stack, "logs")
    groups = [g for p in logs.get_paginator("describe_log_groups").paginate() for g in p["logGroups"]]
    ours = [g for g in groups if "imgpipe-local" in g["logGroupName"]]
    assert len(ours) >= 5
    for group in ours:
        assert 0 < group.get("retentionInDays", 10**6) <= days, group["logGroupName"]
        assert group.get("kmsKeyId") == deployed["kms_key_arn"], group["logGroupName"]

    dynamodb = stack.aws_client(local_stack, "dynamodb")
    tables = [t for t in dynamodb.list_tables()["TableNames"] if t.startswith("imgpipe-local-")]
    assert len(tables) >= 3
    # The one store that holds nothing image-derived, named here so that any other unbounded table still fails.
    not_image_derived = {"imgpipe-local-api-keys"}  # key digests, owners, tenants: kept until revoked
    assert not_image_derived <= set(tables)
    for table in set(tables) - not_image_derived:
        ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        assert ttl.get("TimeToLiveStatus") == "ENABLED", table
        backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        pitr = backups.get("PointInTimeRecoveryDescription", {})
        if pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
            assert pitr.get("RecoveryPeriodInDays", days) <= days, table
    assert json.dumps(deployed["retention_audit"]["schedule_expression"]).startswith('"rate(')
