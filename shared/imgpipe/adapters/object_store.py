"""S3 adapter for image objects: KMS-encrypted writes and tightly-conditioned presigned POSTs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from imgpipe.adapters.s3_client import signs_v4_regionally

MAX_PRESIGN_SECONDS = 900
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})


class PresignNotSigV4(TypeError):
    """The client would presign with Signature Version 2 or on the global endpoint: AWS refuses such links for
    SSE-KMS objects, and the emulator would not notice. Build the client with imgpipe.adapters.s3_client."""


class ObjectTooLarge(Exception):
    def __init__(self, key: str, size: int, limit: int) -> None:
        super().__init__(f"{key}: {size} bytes exceeds {limit}")
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]
    expires_in: int


@dataclass(frozen=True)
class StoredVersion:
    key: str
    version_id: str  # "null" in a bucket that was never versioned
    last_modified: datetime


class ObjectStore:
    def __init__(self, client: Any, bucket: str, kms_key_arn: str) -> None:
        self._client = client
        self._bucket = bucket
        self._kms_key_arn = kms_key_arn

    @property
    def bucket(self) -> str:
        return self._bucket

    def _encryption(self) -> dict[str, str]:
        # Named explicitly (not left to the bucket default) so the bucket policy's right-key check passes.
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_arn}

    def put(self, key: str, body: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            Metadata=metadata or {},
            **self._encryption(),
        )

    def delete(self, key: str) -> None:
        """Deletes the current version and, in a versioned bucket, every older one: nothing survives a purge."""
        versions = self.versions_of(key)
        if versions:
            self.delete_versions(versions)
        else:
            self._client.delete_object(Bucket=self._bucket, Key=key)

    def delete_version(self, key: str, version_id: str) -> None:
        """Permanently deletes one version of the key (the others stay)."""
        self._client.delete_object(Bucket=self._bucket, Key=key, VersionId=version_id)

    def versions_of(self, key: str) -> list[StoredVersion]:
        """Every version and delete marker of exactly this key (all pages)."""
        return [
            StoredVersion(entry["Key"], entry["VersionId"], entry["LastModified"])
            for page in self._client.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=key)
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
            if entry["Key"] == key
        ]

    def versions_written_before(self, cutoff: datetime) -> list[StoredVersion]:
        """Every object version and delete marker in the bucket last modified at or before `cutoff` (all pages)."""
        found = []
        for page in self._client.get_paginator("list_object_versions").paginate(Bucket=self._bucket):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if entry["LastModified"] <= cutoff:
                    found.append(StoredVersion(entry["Key"], entry["VersionId"], entry["LastModified"]))
        return found

    def delete_versions(self, versions: list[StoredVersion]) -> None:
        """Permanently deletes exactly these versions (no delete marker is left in their place)."""
        for start in range(0, len(versions), 1000):  # DeleteObjects' limit per call
            chunk = versions[start : start + 1000]
            response = self._client.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": v.key, "VersionId": v.version_id} for v in chunk], "Quiet": True},
            )
            if response.get("Errors"):
                first = response["Errors"][0]
                raise RuntimeError(
                    f"{len(response['Errors'])} versions not deleted, e.g. {first['Key']}: {first['Code']}"
                )

    def get(self, key: str, max_bytes: int, version_id: str | None = None) -> bytes | None:
        """The object's bytes (of `version_id`, else the current version); None when it does not exist (any
        more). Refuses to read more than max_bytes."""
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key, **_version(version_id))
        except ClientError as err:
            if err.response["Error"]["Code"] in _NOT_FOUND:
                return None
            raise
        length = int(response.get("ContentLength", 0))
        if length > max_bytes:
            response["Body"].close()
            raise ObjectTooLarge(key, length, max_bytes)
        return bytes(response["Body"].read())

    def tags(self, key: str, version_id: str | None = None) -> dict[str, str] | None:
        """The tags of `version_id` (else of the current version); None when it does not exist."""
        try:
            response = self._client.get_object_tagging(Bucket=self._bucket, Key=key, **_version(version_id))
        except ClientError as err:
            if err.response["Error"]["Code"] in _NOT_FOUND:
                return None
            raise
        return {str(t["Key"]): str(t["Value"]) for t in response.get("TagSet", [])}

    def _head(self, key: str) -> dict[str, Any] | None:
        """HeadObject of the current version; None when the key does not exist."""
        try:
            response: dict[str, Any] = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as err:
            if err.response["Error"]["Code"] in _NOT_FOUND:
                return None
            raise
        return response

    def last_modified(self, key: str) -> datetime | None:
        """When the current version was written; None when the key does not exist."""
        head = self._head(key)
        return None if head is None else head["LastModified"]

    def current_version(self, key: str) -> str | None:
        """The id of the key's current version; None when it does not exist or the bucket is not versioned."""
        version = (self._head(key) or {}).get("VersionId")
        return None if version in (None, "null") else str(version)

    def exists(self, key: str) -> bool:
        return self.last_modified(key) is not None

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires_in: int = 300) -> PresignedPost:
        """A POST that can write exactly one key, one content type, 1..max_bytes bytes, with this CMK."""
        self._require_sigv4()
        if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"expires_in must be 1..{MAX_PRESIGN_SECONDS} seconds")
        fields = {
            "Content-Type": content_type,
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": self._kms_key_arn,
        }
        conditions: list[Any] = [
            ["content-length-range", 1, max_bytes],
            *({name: value} for name, value in fields.items()),
        ]
        post = self._client.generate_presigned_post(
            self._bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
        )
        return PresignedPost(url=post["url"], fields=dict(post["fields"]), expires_in=expires_in)

    def presigned_get(self, key: str, expires_in: int = 300) -> str:
        self._require_sigv4()
        if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"expires_in must be 1..{MAX_PRESIGN_SECONDS} seconds")
        return str(
            self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
            )
        )

    def _require_sigv4(self) -> None:
        if not signs_v4_regionally(self._client):
            raise PresignNotSigV4(
                f"the S3 client for {self._bucket} does not presign with SigV4 on a regional endpoint "
                "(use imgpipe.adapters.s3_client.s3_client)"
            )


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}
