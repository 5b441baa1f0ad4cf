"""The metadata item: one per image, the single record every path writes and reads."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from imgpipe import retention
from imgpipe.ids import is_image_id


class ImageStatus(StrEnum):
    PENDING_UPLOAD = "PENDING_UPLOAD"  # presigned POST issued, bytes not yet in S3
    RECEIVED = "RECEIVED"  # raw object stored, not yet processed
    PROCESSING = "PROCESSING"
    PROCESSED = "PROCESSED"
    REJECTED = "REJECTED"


# At-least-once delivery everywhere: every status change is a conditional write from one of these states.
TRANSITIONS: dict[ImageStatus, frozenset[ImageStatus]] = {
    ImageStatus.PENDING_UPLOAD: frozenset({ImageStatus.RECEIVED, ImageStatus.PROCESSING, ImageStatus.REJECTED}),
    ImageStatus.RECEIVED: frozenset({ImageStatus.PROCESSING, ImageStatus.REJECTED}),
    # PROCESSING -> PROCESSING: a redelivered message resumes an attempt that died half-way (outputs are
    # deterministic, so redoing them converges on the same result).
    ImageStatus.PROCESSING: frozenset(
        {ImageStatus.PROCESSING, ImageStatus.PROCESSED, ImageStatus.REJECTED, ImageStatus.RECEIVED}
    ),
    ImageStatus.PROCESSED: frozenset(),
    ImageStatus.REJECTED: frozenset(),
}


def sources_of(target: ImageStatus) -> frozenset[ImageStatus]:
    """The states from which `target` may be reached."""
    return frozenset(state for state, targets in TRANSITIONS.items() if target in targets)


def tenant_status(tenant_id: str, status: ImageStatus) -> str:
    """The by_tenant_status index key: one tenant's images of one status, never another tenant's."""
    return f"{tenant_id}#{status.value}"


class Source(StrEnum):
    API = "api"
    KAFKA = "kafka"


class RenditionRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str  # processed-bucket key
    format: str
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    size_bytes: int = Field(ge=1)


class ImageItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    image_id: str
    status: ImageStatus
    source: Source
    created_at: str  # ISO 8601 UTC, millisecond precision: sorts as text in the GSIs
    created_day: str  # YYYY-MM-DD of created_at: partition key of the by_day GSI
    expires_at: int  # epoch seconds: DynamoDB TTL attribute
    raw_key: str
    # The raw object's version the processor took (pinned at PROCESSING): any other version under the key (an
    # upload form used twice) is ignored and deleted, and tags and bytes are read from this one only.
    raw_version: str | None = None
    filename: str | None = None
    declared_type: str | None = None
    format: str | None = None
    width: int | None = Field(default=None, ge=1)
    height: int | None = Field(default=None, ge=1)
    size_bytes: int | None = Field(default=None, ge=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    owner: str | None = None  # identity of the API key or Kafka source that sent it
    # The tenant the image belongs to, written once at creation; only that tenant's principals read it. Items
    # from before tenants existed have none and are visible to nobody.
    tenant_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    # "<tenant_id>#<status>": the partition key of the by_tenant_status index (kept in step by every transition).
    tenant_status: str | None = None
    reject_reason: str | None = None  # a validation.Reason value
    reject_message: str | None = Field(default=None, max_length=300)
    attributes: dict[str, str] = Field(default_factory=dict)  # client metadata, bounded by the API
    # Where a Kafka image came from (source KAFKA): its record's coordinates.
    kafka_topic: str | None = None
    kafka_partition: int | None = Field(default=None, ge=0)
    kafka_offset: int | None = Field(default=None, ge=0)
    # Filled in by the processor:
    mode: str | None = None  # Pillow mode of the source (RGB, RGBA, L, P, CMYK, I;16, ...)
    frames: int | None = Field(default=None, ge=1)
    phash: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")
    dominant_color: str | None = Field(default=None, pattern=r"^#[0-9a-f]{6}$")
    camera: dict[str, str | int] = Field(
        default_factory=dict
    )  # safe EXIF subset: make, model, captured_at, orientation
    processing_ms: dict[str, int] = Field(default_factory=dict)  # per step
    processed_at: str | None = None
    renditions: dict[str, RenditionRecord] = Field(default_factory=dict)

    @field_validator("image_id")
    @classmethod
    def _server_generated(cls, value: str) -> str:
        if not is_image_id(value):
            raise ValueError("image_id must be a server-generated UUIDv7")
        return value

    @classmethod
    def new(
        cls,
        image_id: str,
        source: Source,
        status: ImageStatus,
        raw_key: str,
        *,
        created: datetime | None = None,
        retention_days: int = retention.DEFAULT_RETENTION_DAYS,
        **fields: Any,
    ) -> ImageItem:
        created = (created or datetime.now(UTC)).astimezone(UTC)
        if fields.get("tenant_id"):
            fields["tenant_status"] = tenant_status(fields["tenant_id"], status)
        return cls(
            image_id=image_id,
            status=status,
            source=source,
            created_at=created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            created_day=created.date().isoformat(),
            expires_at=retention.expires_at(created, retention_days),
            raw_key=raw_key,
            **fields,
        )

    def is_expired(self, now: datetime | None = None) -> bool:
        return retention.is_expired(self.expires_at, now)

    def to_record(self) -> dict[str, Any]:
        """The attribute map stored in DynamoDB: no nulls (absent instead), enums as text."""
        return {k: v for k, v in self.model_dump(mode="json").items() if v is not None and v != {}}
