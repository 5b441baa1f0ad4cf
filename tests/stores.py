"""The image stores as the pipeline deploys them, made in whatever emulator the caller runs (moto in-process):
versioned buckets and the metadata table keyed by image id."""

from __future__ import annotations

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
