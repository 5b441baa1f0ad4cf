"""The Kafka ingestion use case: one topic record in, one raw object + RECEIVED item out, or a typed rejection.

Message contract (docs/kafka.md):
- inline: the value is the image; headers `content-type` (required), `filename`, `idempotency-key`, `source-id`;
- the tenant a record's image belongs to comes from configuration, never from the record: the source-id header
  looked up in the configured source -> tenant map (exact names, or `prefix*` patterns), else the topic's
  default tenant; a record neither covers is refused as `unknown_source`;
- claim-check: the value is a JSON object {"s3_uri", "content_type", "filename"?} naming an object the producer
  staged under the allowed bucket/prefix, for images larger than a Kafka message may be.
A value whose first non-blank byte is "{" is an envelope (no accepted image format starts with it).

Whatever is wrong with a record is a RecordRejected with a stable reason (imgpipe.validation.Reason), raised
before anything is written; the caller reports it with the record's coordinates and moves on. Anything else
(S3, DynamoDB) raises as is, so the record is retried. Deduplication of replays is the caller's job (the
handler wraps `ingest` in Powertools idempotency keyed by `dedup_key`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from imgpipe import retention, validation
from imgpipe.adapters.metadata_table import ItemExists, MetadataTable
from imgpipe.adapters.object_store import ObjectStore, ObjectTooLarge
from imgpipe.adapters.request_claims import Claim, RequestClaims
from imgpipe.auth import is_tenant_id
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, Source
from imgpipe.validation import Reason

MAX_HEADER_CHARS = 256


class RecordRejected(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class KafkaRecord:
    """One record as the MSK / self-managed Kafka event source delivers it, already base64-decoded."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    value: bytes
    headers: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def coordinates(self) -> str:
        return f"{self.topic}-{self.partition}@{self.offset}"

    def header(self, name: str) -> str | None:
        """A header as text (names compared case-insensitively); RecordRejected when it is not short UTF-8."""
        for key, raw in self.headers.items():
            if key.lower() == name:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise RecordRejected(Reason.BAD_ENVELOPE, f"header {name} is not UTF-8") from None
                if len(text) > MAX_HEADER_CHARS:
                    raise RecordRejected(Reason.BAD_ENVELOPE, f"header {name} is over {MAX_HEADER_CHARS} characters")
                return text.strip() or None
        return None

    def dedup_key(self) -> str:
        """What makes two deliveries the same image: the producer's idempotency key (scoped by source-id or
        topic) when it sent one, so its own retries dedupe; otherwise the record's coordinates, so replays do."""
        key = self.header("idempotency-key")
        if key:
            return f"key:{self.header('source-id') or self.topic}:{key}"
        return self.offset_key

    @property
    def offset_key(self) -> str:
        """The record's coordinates as a dedup key: always available, even when its headers are unreadable."""
        return f"offset:{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class SourceTenants:
    """Which tenant a record's image belongs to: configuration (Terraform's kafka.source_tenants and
    kafka.default_tenant), never a header the producer may set freely."""

    by_source: Mapping[str, str] = field(default_factory=dict)  # source-id (or "prefix*") -> tenant
    default: str | None = None  # for records without a source-id header

    def tenant_of(self, source_id: str | None) -> str:
        if source_id is None:
            if self.default is None:
                raise RecordRejected(Reason.UNKNOWN_SOURCE, "the record names no source-id and the topic has no tenant")
            return self.default
        if source_id in self.by_source:
            return self.by_source[source_id]
        # The longest matching prefix pattern wins, so "partner-a-*" can refine "partner-*".
        patterns = sorted((k for k in self.by_source if k.endswith("*")), key=len, reverse=True)
        for pattern in patterns:
            if source_id.startswith(pattern[:-1]):
                return self.by_source[pattern]
        raise RecordRejected(Reason.UNKNOWN_SOURCE, f"no tenant is configured for source-id {source_id[:64]!r}")

    @classmethod
    def parse(cls, mapping_json: str | None, default: str | None) -> SourceTenants:
        """From the function's settings; a malformed map is a configuration error at cold start."""
        mapping = json.loads(mapping_json) if mapping_json else {}
        default = default or None
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and k and is_tenant_id(v) for k, v in mapping.items()
        ):
            raise ValueError("SOURCE_TENANTS_JSON must map source ids to tenant ids")
        if default is not None and not is_tenant_id(default):
            raise ValueError("DEFAULT_TENANT must be a tenant id")
        return cls(mapping, default)


@dataclass(frozen=True)
class KafkaIngestSettings:
    raw_prefix: str = "raw/"
    retention_days: int = retention.DEFAULT_RETENTION_DAYS
    max_inline_bytes: int = 1024 * 1024  # the topic's max.message.bytes default; configurable with the topic
    max_claim_check_bytes: int = 10 * 1024 * 1024
    claim_check_bucket: str | None = None  # None: claim-check records are refused
    claim_check_prefix: str = "staging/"
    limits: validation.Limits = field(default_factory=validation.Limits)
    tenants: SourceTenants = field(default_factory=SourceTenants)


@dataclass(frozen=True)
class _Payload:
    data: bytes
    content_type: str | None
    filename: str | None
    staged_key: str | None


class KafkaIngestService:
    def __init__(
        self,
        table: MetadataTable,
        raw: ObjectStore,
        settings: KafkaIngestSettings | None = None,
        staging: ObjectStore | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        claims: RequestClaims | None = None,
    ) -> None:
        self._table = table
        self._raw = raw
        self._staging = staging
        self._settings = settings or KafkaIngestSettings()
        self._clock = clock
        self._claims = claims  # None: a retry after a crash between writes may store a second image

    def claim_of(self, record: KafkaRecord) -> Claim | None:
        """The live claim of the record's dedup key (None: none, or no claims table), read once per delivery: the
        conflict check and `ingest` both use it (one DynamoDB read per record, not two)."""
        if self._claims is None:
            return None
        try:
            key = record.dedup_key()
        except RecordRejected:
            return None  # ingest refuses it for its headers
        return self._claims.find(key, self._clock())

    def conflict(self, record: KafkaRecord, claim: Claim | None) -> RecordRejected | None:
        """The refusal of a record whose dedup key an earlier record claimed with other bytes: checked before
        the idempotency layer, which would otherwise replay the earlier record's outcome for it ("already
        stored", and the new bytes lost without a word)."""
        if claim is None or claim.fingerprint == _fingerprint(record):
            return None
        return RecordRejected(
            Reason.IDEMPOTENCY_CONFLICT,
            "an earlier record with this source and idempotency-key carried other bytes; this one is not stored",
        )

    def ingest(self, record: KafkaRecord, claim: Claim | None) -> dict[str, Any]:
        """Validates and stores one record; returns what was stored (JSON-able, replayed for duplicates).

        Crash-consistent: the record's dedup key claims an image id before anything is written, so a retry,
        whatever moment an earlier attempt died at (object, item, staged delete), converges on that image.
        `claim`: what `claim_of` read for this delivery. One written since by a concurrent attempt is found by the
        conditional claim below, and this attempt joins its image."""
        dedup_key = record.dedup_key()  # its headers must be valid too: a bad idempotency-key rejects the record
        source_id = record.header("source-id")
        tenant = self._settings.tenants.tenant_of(source_id)  # before any object is read: no tenant, no work
        fingerprint = _fingerprint(record)
        stored = self._stored_by_an_earlier_attempt(record, claim, fingerprint)
        if stored is not None:
            return stored
        payload = self._payload(record)
        try:
            info = validation.inspect(payload.data, payload.content_type, self._settings.limits)
            filename = validation.clean_filename(payload.filename) if payload.filename else None
        except validation.ValidationError as err:
            self._discard_staged(payload.staged_key)  # a refused record's staged object has no further use
            raise RecordRejected(err.reason, err.message) from None

        now = self._clock()
        image_id, created = new_image_id(int(now.timestamp() * 1000)), now
        if self._claims is not None:
            claim = self._claims.claim(dedup_key, image_id, fingerprint, now)
            if claim.fingerprint != fingerprint:
                raise RecordRejected(Reason.IDEMPOTENCY_CONFLICT, "another record claimed this key with other bytes")
            image_id, created = claim.image_id, claim.created_at
        item = ImageItem.new(
            image_id,
            Source.KAFKA,
            ImageStatus.RECEIVED,
            f"{self._settings.raw_prefix}{tenant}/{created:%Y/%m/%d}/{image_id}",
            created=created,
            retention_days=self._settings.retention_days,
            filename=filename,
            declared_type=info.format.mime_type,
            format=info.format.value,
            width=info.upright_size[0],
            height=info.upright_size[1],
            size_bytes=info.size_bytes,
            sha256=hashlib.sha256(payload.data).hexdigest(),
            owner=source_id or record.topic,
            tenant_id=tenant,
            kafka_topic=record.topic,
            kafka_partition=record.partition,
            kafka_offset=record.offset,
        )
        self._raw.put(item.raw_key, payload.data, info.format.mime_type, metadata={"image-id": image_id})
        try:
            self._table.put_new(item)
        except ItemExists:
            pass  # an earlier attempt of this record wrote it (claimed id): the same image
        except Exception:
            self._raw.delete(item.raw_key)  # never leave an object no item describes
            raise
        self._discard_staged(payload.staged_key)  # one copy of the image, under the raw prefix
        return _stored(item, claim_check=payload.staged_key is not None)

    def _stored_by_an_earlier_attempt(
        self, record: KafkaRecord, claim: Claim | None, fingerprint: str
    ) -> dict[str, Any] | None:
        """What an earlier attempt of this record stored, finishing what it left undone (the staged delete)."""
        if claim is None:
            return None
        if claim.fingerprint != fingerprint:
            raise RecordRejected(Reason.IDEMPOTENCY_CONFLICT, "another record claimed this key with other bytes")
        item = self._table.get(claim.image_id, self._clock())
        if item is None:
            return None  # it died before its item: this attempt writes the claimed image
        staged_key = self._staged_key(record)
        self._discard_staged(staged_key)
        return _stored(item, claim_check=staged_key is not None)

    def _staged_key(self, record: KafkaRecord) -> str | None:
        """The staged object a claim-check record names, if it is one this record may name; else None."""
        if record.value.lstrip()[:1] != b"{":
            return None
        try:
            return self._allowed_staged_key(record, json.loads(record.value))
        except (ValueError, KeyError, RecordRejected, AttributeError, TypeError):
            return None

    def _discard_staged(self, key: str | None) -> None:
        if key is not None and self._staging is not None:
            self._staging.delete(key)

    def _payload(self, record: KafkaRecord) -> _Payload:
        value = record.value
        if not value:
            raise RecordRejected(Reason.EMPTY, "the record has no value")
        if value.lstrip()[:1] == b"{":
            return self._claim_check(record)
        if len(value) > self._settings.max_inline_bytes:
            raise RecordRejected(
                Reason.TOO_LARGE,
                f"{len(value)} bytes inline exceeds {self._settings.max_inline_bytes}; send a claim-check instead",
            )
        content_type = record.header("content-type")
        if not content_type:
            raise RecordRejected(Reason.UNSUPPORTED_TYPE, "an inline image needs a content-type header")
        return _Payload(value, content_type, record.header("filename"), None)

    def _claim_check(self, record: KafkaRecord) -> _Payload:
        settings = self._settings
        if len(record.value) > 4096:
            raise RecordRejected(Reason.BAD_ENVELOPE, "a claim-check envelope is at most 4096 bytes")
        try:
            envelope = json.loads(record.value)
        except ValueError:
            raise RecordRejected(Reason.BAD_ENVELOPE, "the value starts like JSON but is not valid JSON") from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("s3_uri"), str):
            raise RecordRejected(Reason.BAD_ENVELOPE, 'a claim-check envelope needs a string "s3_uri"')
        for name in ("content_type", "filename"):
            if envelope.get(name) is not None and not isinstance(envelope[name], str):
                raise RecordRejected(Reason.BAD_ENVELOPE, f'"{name}" must be a string')
        key = self._allowed_staged_key(record, envelope)
        staging = self._staging
        if staging is None:  # refused above already; says so to the type checker
            raise RecordRejected(Reason.REFERENCE_NOT_ALLOWED, "claim-check records are not accepted here")
        try:
            data = staging.get(key, settings.max_claim_check_bytes)
        except ObjectTooLarge as err:
            self._discard_staged(key)
            raise RecordRejected(Reason.TOO_LARGE, str(err)) from None
        if data is None:
            raise RecordRejected(Reason.REFERENCE_MISSING, f"{envelope['s3_uri']} does not exist (any more)")
        return _Payload(
            data, envelope.get("content_type") or record.header("content-type"), envelope.get("filename"), key
        )

    def _allowed_staged_key(self, record: KafkaRecord, envelope: dict[str, Any]) -> str:
        """The staging key an envelope names, if this record's source may name it: a source stages under
        `<staging prefix><source-id>/` (the topic's name for records without one), so that one producer can
        neither ingest nor delete another's staged images."""
        settings = self._settings
        owner = record.header("source-id") or record.topic
        home = f"{settings.claim_check_prefix}{owner}/"
        uri = str(envelope["s3_uri"])
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        allowed = (
            uri.startswith("s3://")
            and "/" not in owner  # "cam" must not reach into "cam/x"'s folder
            and settings.claim_check_bucket is not None
            and self._staging is not None
            and bucket == settings.claim_check_bucket
            and key.startswith(home)
            and len(key) > len(home)
            and ".." not in key.split("/")
        )
        if not allowed:
            where = f"s3://{settings.claim_check_bucket}/{home}"
            raise RecordRejected(
                Reason.REFERENCE_NOT_ALLOWED, f"this source's claim-check objects must be under {where}"
            )
        return key


def _fingerprint(record: KafkaRecord) -> str:
    """What a record carried: its value (the image, or a claim-check envelope naming it)."""
    return hashlib.sha256(record.value).hexdigest()


def _stored(item: ImageItem, claim_check: bool) -> dict[str, Any]:
    return {
        "image_id": item.image_id,
        "tenant_id": item.tenant_id,
        "raw_key": item.raw_key,
        "size_bytes": item.size_bytes,
        "format": item.format,
        "claim_check": claim_check,
    }
