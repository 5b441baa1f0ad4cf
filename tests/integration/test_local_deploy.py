"""terraform/envs/local applied once per session to the embedded moto, then checked through boto3 the way
AWS would report it: retention, encryption, public access, TTL/PITR, and S3 → SQS event delivery."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import unquote_plus

import pytest

from scripts.local import stack
from tests.integration import plans

pytestmark = [pytest.mark.integration, pytest.mark.terraform]


def client(cfg: stack.StackConfig, service: str) -> Any:
    return stack.aws_client(cfg, service)


def test_second_plan_is_a_no_op(second_plan: plans.SecondPlan) -> None:
    assert second_plan.changed is False and second_plan.planfile.is_file()


@pytest.mark.parametrize("bucket_output", ["raw_bucket_name", "processed_bucket_name"])
def test_bucket_retention_encryption_and_public_access(
    deployed: dict[str, Any], local_stack: stack.StackConfig, bucket_output: str
) -> None:
    s3 = client(local_stack, "s3")
    bucket = deployed[bucket_output]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    enabled = [r for r in rules if r["Status"] == "Enabled"]
    assert any(r.get("Expiration", {}).get("Days") == deployed["retention_days"] == 7 for r in enabled)
    assert any(r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == 1 for r in enabled)
    assert any(r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1 for r in enabled)

    sse = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert sse["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == deployed["kms_key_arn"]
    assert sse["BucketKeyEnabled"] is True

    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert pab == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]
    assert ownership["ObjectOwnership"] == "BucketOwnerEnforced"


def test_metadata_table_ttl_pitr_encryption_stream(deployed: dict[str, Any], local_stack: stack.StackConfig) -> None:
    ddb = client(local_stack, "dynamodb")
    name = deployed["metadata_table_name"]
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["SSEDescription"]["SSEType"] == "KMS"
    assert table["SSEDescription"]["KMSMasterKeyArn"] == deployed["kms_key_arn"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["LatestStreamArn"] == deployed["metadata_table_stream_arn"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {g["IndexName"] for g in table["GlobalSecondaryIndexes"]} == {"by_tenant_status", "by_day"}


def test_kms_key_rotates(deployed: dict[str, Any], local_stack: stack.StackConfig) -> None:
    kms = client(local_stack, "kms")
    assert kms.get_key_rotation_status(KeyId=deployed["kms_key_arn"])["KeyRotationEnabled"] is True
    aliases = {a["AliasName"] for a in kms.list_aliases(KeyId=deployed["kms_key_arn"])["Aliases"]}
    assert deployed["kms_alias_name"] in aliases


def test_queues_are_encrypted_bounded_and_redriven(deployed: dict[str, Any], local_stack: stack.StackConfig) -> None:
    sqs = client(local_stack, "sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=deployed["raw_events_queue_url"], AttributeNames=["All"])["Attributes"]
    assert attrs["KmsMasterKeyId"] == deployed["kms_key_arn"]
    assert int(attrs["MessageRetentionPeriod"]) <= deployed["retention_days"] * 86400
    redrive = json.loads(attrs["RedrivePolicy"])
    dlq = sqs.get_queue_attributes(QueueUrl=deployed["raw_events_dlq_url"], AttributeNames=["All"])["Attributes"]
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(dlq["MessageRetentionPeriod"]) <= deployed["retention_days"] * 86400
    policy = json.loads(attrs["Policy"])
    conditions = json.dumps([s.get("Condition") for s in policy["Statement"]])
    assert f"arn:aws:s3:::{deployed['raw_bucket_name']}" in conditions


def test_raw_object_delivers_an_s3_event_to_the_queue(deployed: dict[str, Any], local_stack: stack.StackConfig) -> None:
    s3, sqs = client(local_stack, "s3"), client(local_stack, "sqs")
    key = f"{deployed['raw_prefix']}integration/{time.time_ns()}.jpg"
    s3.put_object(
        Bucket=deployed["raw_bucket_name"],
        Key=key,
        Body=b"\xff\xd8\xff",
        ContentType="image/jpeg",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=deployed["kms_key_arn"],
    )
    s3.put_object(Bucket=deployed["raw_bucket_name"], Key=f"elsewhere/{time.time_ns()}.jpg", Body=b"x")

    seen: list[dict[str, Any]] = []
    deadline = time.time() + 20
    while time.time() < deadline and not any(r["s3"]["object"]["key"] == key for r in seen):
        response = sqs.receive_message(
            QueueUrl=deployed["raw_events_queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        for message in response.get("Messages", []):
            for record in json.loads(message["Body"]).get("Records", []):  # s3:TestEvent has none
                # S3 URL-encodes keys in event records (AWS and moto alike)
                record["s3"]["object"]["key"] = unquote_plus(record["s3"]["object"]["key"])
                seen.append(record)
            sqs.delete_message(QueueUrl=deployed["raw_events_queue_url"], ReceiptHandle=message["ReceiptHandle"])
    records = [r for r in seen if r["s3"]["object"]["key"] == key]
    assert records, f"no S3 event for {key}; got {seen}"
    assert records[0]["eventName"].startswith("ObjectCreated:")
    assert records[0]["s3"]["bucket"]["name"] == deployed["raw_bucket_name"]
    # The notification is filtered to the raw prefix: other keys raise no event.
    assert all(r["s3"]["object"]["key"].startswith(deployed["raw_prefix"]) for r in seen)


def preflight(local_stack: stack.StackConfig, bucket: str, origin: str) -> Any:
    """What a browser asks before it POSTs an upload form to the bucket from a page of `origin`."""
    import requests

    return requests.options(
        f"{local_stack.aws_endpoint}/{bucket}",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )


def test_the_raw_bucket_answers_the_web_apps_preflight_and_no_other(
    deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    """The deployed CORS rule (envs/local's web origins, from the local gateway's port) lets the page the
    gateway serves POST upload forms to the raw bucket, and only POST; another origin is refused, and no other
    bucket has rules. moto answers preflights from the bucket's rules as S3 does."""
    from scripts.deploy import tf

    raw = deployed["raw_bucket_name"]
    for origin in tf.web_origins(local_stack):
        allowed = preflight(local_stack, raw, origin)
        assert allowed.status_code == 200, allowed.text
        assert allowed.headers["Access-Control-Allow-Origin"] == origin
        assert allowed.headers["Access-Control-Allow-Methods"] == "POST"
    for stranger in ("http://127.0.0.1:1", "https://evil.example"):  # the loopback on another port, and a site
        assert preflight(local_stack, raw, stranger).status_code == 403
    s3 = client(local_stack, "s3")
    rules = s3.get_bucket_cors(Bucket=raw)["CORSRules"]
    assert [(r["AllowedMethods"], sorted(r["AllowedOrigins"])) for r in rules] == [
        (["POST"], sorted(tf.web_origins(local_stack)))
    ]
    # No other bucket has rules, and none answers a browser: the embedded emulator runs without moto's blanket
    # CORS layer (scripts/local/emulator.py), so a bucket without rules grants no origin, as on S3.
    analytics = deployed["analytics"]
    for other in (deployed["processed_bucket_name"], analytics["bucket_name"], analytics["results_bucket_name"]):
        with pytest.raises(s3.exceptions.ClientError, match="NoSuchCORSConfiguration"):
            s3.get_bucket_cors(Bucket=other)
        answer = preflight(local_stack, other, tf.web_origins(local_stack)[0])
        assert "Access-Control-Allow-Origin" not in answer.headers, answer.headers


def test_a_form_post_is_answered_with_the_raw_buckets_cors_only_for_its_origins(
    deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    """The answer to the upload itself carries the rule's CORS headers, as S3's does: without them a browser
    hides a successful upload from the page (the emulator's form handler is wrapped to add them)."""
    import requests

    from scripts.deploy import tf

    s3 = client(local_stack, "s3")
    for origin, allowed in ((tf.web_origins(local_stack)[0], True), ("https://evil.example", False)):
        form = s3.generate_presigned_post(deployed["raw_bucket_name"], f"cors-probe/{allowed}")
        answer = requests.post(
            form["url"], data=form["fields"], files={"file": ("x", b"x")}, headers={"Origin": origin}, timeout=30
        )
        assert answer.status_code == 204, answer.text
        assert answer.headers.get("Access-Control-Allow-Origin") == (origin if allowed else None)
        listed = s3.list_object_versions(Bucket=deployed["raw_bucket_name"], Prefix="cors-probe/")
        for version in listed.get("Versions", []) + listed.get("DeleteMarkers", []):  # leave nothing behind
            s3.delete_object(Bucket=deployed["raw_bucket_name"], Key=version["Key"], VersionId=version["VersionId"])
