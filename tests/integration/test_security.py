"""The security services as deployed into the emulator, read back (not re-declared): the trail, the GuardDuty
detector, the processor's scan setting; and the malware-tag refusal on the deployed path — an upload through the
API whose raw object GuardDuty tagged THREATS_FOUND is refused by the deployed processor and leaves nothing."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
import requests
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.models import ImageStatus
from scripts.local import stack
from scripts.local import worker as local_worker

pytestmark = pytest.mark.integration


def test_the_trail_records_every_region_validated_encrypted_with_the_data_events(
    local_stack: stack.StackConfig, deployed: dict[str, Any]
) -> None:
    security = deployed["security"]
    cloudtrail = stack.aws_client(local_stack, "cloudtrail")
    [trail] = cloudtrail.describe_trails(trailNameList=[security["trail_arn"]])["trailList"]
    assert trail["IsMultiRegionTrail"] and trail["LogFileValidationEnabled"] and trail["IncludeGlobalServiceEvents"]
    assert trail["KmsKeyId"] == deployed["kms_key_arn"] and trail["S3BucketName"] == security["trail_bucket_name"]
    assert cloudtrail.get_trail_status(Name=security["trail_arn"])["IsLogging"]

    selectors = cloudtrail.get_event_selectors(TrailName=security["trail_arn"])["AdvancedEventSelectors"]
    fields = {s["Name"]: {f["Field"]: f for f in s["FieldSelectors"]} for s in selectors}
    objects = fields["Object-level access to the pipeline's buckets"]["resources.ARN"]["StartsWith"]
    buckets = [b for b in deployed["retention_audit"]["audited_buckets"] if b != security["trail_bucket_name"]]
    assert sorted(objects) == sorted(f"arn:aws:s3:::{b}/" for b in buckets)  # every image-derived bucket
    # StartsWith the function's ARN: its invocations through the `live` alias (what every trigger calls) too.
    functions = fields["Invocations of the pipeline's functions"]["resources.ARN"]["StartsWith"]
    assert f"arn:aws:lambda:us-east-1:123456789012:function:{deployed['processor_function_name']}" in functions
    assert fields["Management events"]["eventCategory"]["Equals"] == ["Management"]


def test_guardduty_runs_and_the_local_processor_observes_scan_tags(
    local_stack: stack.StackConfig, deployed: dict[str, Any]
) -> None:
    detector = stack.aws_client(local_stack, "guardduty").get_detector(
        DetectorId=deployed["security"]["guardduty_detector_id"]
    )
    assert detector["Status"] == "ENABLED"
    config = stack.aws_client(local_stack, "lambda").get_function_configuration(
        FunctionName=deployed["processor_function_name"]
    )
    assert config["Environment"]["Variables"]["MALWARE_SCAN"] == deployed["security"]["malware_scan"] == "observed"


def test_an_upload_guardduty_tagged_as_a_threat_is_refused_by_the_deployed_processor(
    local_stack: stack.StackConfig, deployed: dict[str, Any], base_url: str, keys: dict[str, str]
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 0, 0)).save(buffer, format="PNG")
    answer = requests.put(
        f"{base_url}/v1/images",
        params={"filename": "eicar.png"},
        data=buffer.getvalue(),
        headers={"x-api-key": keys["good"], "Content-Type": "image/png"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    image_id = answer.json()["image_id"]
    s3 = stack.aws_client(local_stack, "s3")
    table = MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])
    item = table.get(image_id)
    assert item is not None
    # What GuardDuty Malware Protection does to an infected object (moto has no scanner).
    s3.put_object_tagging(
        Bucket=deployed["raw_bucket_name"],
        Key=item.raw_key,
        Tagging={"TagSet": [{"Key": "GuardDutyMalwareScanStatus", "Value": "THREATS_FOUND"}]},
    )

    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed)
    processor = next(p for p in worker.pollers if p.mapping.function_name == deployed["processor_function_name"])
    deadline = time.monotonic() + 120
    while (current := table.get(image_id)) is not None and current.status is not ImageStatus.REJECTED:
        assert time.monotonic() < deadline, processor.stats
        processor.poll_once(wait_s=1)

    assert current is not None and current.reject_reason == "malware"
    versions = s3.list_object_versions(Bucket=deployed["raw_bucket_name"], Prefix=item.raw_key)
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []
    listing = s3.list_objects_v2(
        Bucket=deployed["processed_bucket_name"], Prefix=f"{deployed['processed_prefix']}{image_id}/"
    )
    assert listing.get("KeyCount", 0) == 0
    refused = requests.get(f"{base_url}/v1/images/{image_id}", headers={"x-api-key": keys["good"]}, timeout=30)
    assert refused.json()["status"] == "REJECTED" and refused.json()["reject_reason"] == "malware"
