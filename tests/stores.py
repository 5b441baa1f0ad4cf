"""The image stores as the pipeline deploys them, made in whatever emulator the caller runs (moto in-process):
versioned buckets and the metadata table keyed by image id; and the processor's settings over them."""

from __future__ import annotations

import json
from typing import Any


def versioned_buckets(s3: Any, *names: str) -> None:
    for bucket in names:
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def image_table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "image_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "image_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def processor_environment(raw: str, processed: str, table: str, kms_key_arn: str) -> dict[str, str]:
    """image_processor's settings over those stores, as Terraform gives them, with one small rendition and no
    GuardDuty scan (the scan tests set MALWARE_SCAN themselves)."""
    return {
        "RAW_BUCKET": raw,
        "RAW_PREFIX": "raw/",
        "PROCESSED_BUCKET": processed,
        "PROCESSED_PREFIX": "renditions/",
        "TABLE_NAME": table,
        "KMS_KEY_ARN": kms_key_arn,
        "RENDITIONS_JSON": json.dumps([{"name": "small", "max_edge": 64, "format": "png"}]),
        "MALWARE_SCAN": "observed",
    }
