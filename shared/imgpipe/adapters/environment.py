"""The adapters and settings the functions build from the environment Terraform sets (imgpipe.config): one
place that says which variable names which table, bucket and key, and within which bounds a number is valid.

Each call builds new clients: a function caches what it composes from them (functools.cache), and a test that
clears that cache gets clients for its own endpoint. The adapters are imported on the call, not with this
module: a handler imports it at cold start and builds its adapters when its first event needs them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from imgpipe import config

if TYPE_CHECKING:
    from imgpipe.adapters.metadata_table import MetadataTable
    from imgpipe.adapters.object_store import ObjectStore
    from imgpipe.adapters.request_claims import RequestClaims

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def dynamodb() -> Any:
    import boto3

    return boto3.client("dynamodb")


def metadata_table() -> MetadataTable:
    from imgpipe.adapters.metadata_table import MetadataTable

    return MetadataTable(dynamodb(), config.required("TABLE_NAME"))


def object_store(bucket_variable: str, s3: Any | None = None) -> ObjectStore:
    """The bucket named by bucket_variable, written with the function's KMS key (KMS_KEY_ARN). s3: a client to
    share between a function's buckets; a new one otherwise."""
    from imgpipe.adapters.object_store import ObjectStore
    from imgpipe.adapters.s3_client import s3_client

    return ObjectStore(s3 or s3_client(), config.required(bucket_variable), config.required("KMS_KEY_ARN"))


def request_claims(scope: str, lifetime_seconds: int) -> RequestClaims:
    """Claims in the function's idempotency table, which they share with Powertools' records."""
    from imgpipe.adapters.request_claims import RequestClaims

    return RequestClaims(
        dynamodb(), config.required("IDEMPOTENCY_TABLE"), scope=scope, lifetime=timedelta(seconds=lifetime_seconds)
    )


def retention_days() -> int:
    return config.integer("RETENTION_DAYS", 7, 1, 7)


def max_upload_bytes() -> int:
    return config.integer("MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES, 1, MAX_UPLOAD_BYTES)
