"""The S3 client every function uses: Signature Version 4 on the bucket's regional virtual-hosted endpoint.

Why not botocore's default: with the pinned botocore a default client presigns with Signature Version 2 on the
global endpoint (`https://s3.amazonaws.com/...?AWSAccessKeyId=...&Signature=...`). S3 refuses SigV2 for objects
encrypted with SSE-KMS, which every bucket here is, and outside us-east-1 the global endpoint answers a POST with
a redirect that browsers do not follow. The emulator accepts both forms, so only the configuration can keep it
right; `ObjectStore` refuses to presign with a client configured otherwise.

With AWS_ENDPOINT_URL pointing at an IP (the local emulator), botocore keeps path-style addressing for it: the
same configuration works locally and on AWS.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

SIGNATURE_VERSION = "s3v4"
S3_CONFIG = Config(
    signature_version=SIGNATURE_VERSION,
    s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
)


def s3_client(**kwargs: Any) -> Any:
    """boto3's S3 client with S3_CONFIG merged over any `config=` given (region, endpoint and credentials pass)."""
    config = kwargs.pop("config", None)
    return boto3.client("s3", config=S3_CONFIG.merge(config) if config else S3_CONFIG, **kwargs)


def signs_v4_regionally(client: Any) -> bool:
    """True when presigned URLs and POSTs from this client are SigV4 on a regional endpoint."""
    config = client.meta.config
    s3 = config.s3 or {}
    return bool(
        config.signature_version == SIGNATURE_VERSION
        and s3.get("addressing_style") == "virtual"
        and (client.meta.region_name != "us-east-1" or s3.get("us_east_1_regional_endpoint") == "regional")
    )
