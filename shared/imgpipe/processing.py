"""The processing use case: one raw object in, renditions + a PROCESSED item out, or a REJECTED item.

Same path for every source (API direct uploads, presigned POSTs, Kafka): the raw object's key ends in its
image id, and its metadata item says what was declared. Safe under at-least-once delivery:
- a message for an item already PROCESSED or REJECTED changes nothing (a REJECTED item's raw object is deleted
  again, in case an earlier attempt stopped between the two writes);
- outputs have deterministic keys (<processed_prefix><image_id>/<rendition>.<ext>), so an attempt that died
  half-way is redone to the same result (PROCESSING -> PROCESSING);
- status changes are conditional writes (imgpipe.models.TRANSITIONS); the last one wins only once.
Rejection rule (docs/processing.md): the item is kept as REJECTED with its reason until it expires; the raw
object is deleted (every version), never quarantined — hostile bytes have no further use, and keeping them
would only be one more copy to purge.
An object without a live item is deleted (its upload was never registered, or its item expired) once it is
older than ORPHAN_GRACE: a direct upload writes the object a moment before its item, so a younger one is
retried (ItemNotWrittenYet, which says when: soon, then once the grace is over) instead.
Malware (docs/security.md): GuardDuty Malware Protection for S3 scans each new raw object and tags it
`GuardDutyMalwareScanStatus`. THREATS_FOUND is always refused (reason `malware`), whatever the settings. With
`malware_scan=REQUIRED` (the security module's scan enabled) nothing is processed before its verdict: an untagged
object is retried (ScanPending), and a scan that could not run (UNSUPPORTED, ACCESS_DENIED, FAILED) is refused as
`not_scanned` — an unscanned image is not trusted.
Anything else that fails (S3, DynamoDB, KMS) raises: the message is retried, then dead-lettered.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from imgpipe import engine
from imgpipe.adapters.metadata_table import MetadataTable, TransitionRefused
from imgpipe.adapters.object_store import ObjectStore, ObjectTooLarge
from imgpipe.errors import RetryLater
from imgpipe.ids import is_image_id
from imgpipe.models import ImageItem, ImageStatus, RenditionRecord
from imgpipe.purge import purge_key
from imgpipe.renditions import DEFAULT_RENDITIONS, RenditionSpec
from imgpipe.validation import Limits, Reason, ValidationError

log = logging.getLogger(__name__)

# Far longer than a direct upload takes between writing the object and its item (milliseconds).
ORPHAN_GRACE = timedelta(minutes=2)
# When to look again for the item of a fresh object: soon while the upload may still be writing it, then not
# before the grace is over (the object is then an orphan and deleted). With a queue's visibility timeout
# instead (360 s) the image would wait minutes; with a short fixed delay an orphan would be dead-lettered
# before its grace ends (five receives).
FRESH_OBJECT = timedelta(seconds=10)
FRESH_RETRY = timedelta(seconds=5)


class ItemNotWrittenYet(RetryLater):
    """A fresh raw object has no item yet: the upload is still writing it. Retryable after retry_after."""


def retry_after(age: timedelta) -> timedelta:
    """When to deliver again the event of an object of this age that has no item yet."""
    if age < FRESH_OBJECT:
        return FRESH_RETRY
    return max(FRESH_RETRY, ORPHAN_GRACE - age + timedelta(seconds=1))


class ScanPending(Exception):
    """A malware scan is required and GuardDuty has not tagged the object yet. Retryable."""


SCAN_STATUS_TAG = "GuardDutyMalwareScanStatus"


class MalwareScan(StrEnum):
    OBSERVED = "observed"  # no scan is set up here: a THREATS_FOUND tag is still refused
    REQUIRED = "required"  # process only what GuardDuty tagged NO_THREATS_FOUND


class Outcome(StrEnum):
    PROCESSED = "processed"
    REJECTED = "rejected"
    SKIPPED = "skipped"  # nothing to do: already final, not ours, or no live item for the object


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    image_id: str | None
    detail: str
    reason: Reason | None = None
    processing_ms: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessorSettings:
    raw_prefix: str = "raw/"
    processed_prefix: str = "renditions/"
    renditions: Sequence[RenditionSpec] = DEFAULT_RENDITIONS
    limits: Limits = field(default_factory=Limits)
    malware_scan: MalwareScan = MalwareScan.REQUIRED


def rendition_key(prefix: str, image_id: str, spec: RenditionSpec, tenant_id: str | None = None) -> str:
    """<prefix>[<tenant>/]<image_id>/<rendition>.<ext>: a tenant's renditions under its own path."""
    tenant = f"{tenant_id}/" if tenant_id else ""
    return f"{prefix}{tenant}{image_id}/{spec.name}.{spec.format.extension}"


class ImageProcessor:
    def __init__(
        self,
        table: MetadataTable,
        raw: ObjectStore,
        processed: ObjectStore,
        settings: ProcessorSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._table = table
        self._raw = raw
        self._processed = processed
        self._settings = settings or ProcessorSettings()
        self._clock = clock

    @property
    def budget_seconds(self) -> float:
        """The most one image may take in the engine (validate + decode + renditions)."""
        return self._settings.limits.max_seconds

    def process_object(self, key: str, version_id: str | None = None) -> Result:
        """Processes the raw object `key` — its version `version_id`, the one the S3 event names, when given:
        tags and bytes are read from that version, and the first version processed is pinned on the item, so
        that bytes written later under the key (an upload form used twice) are never taken for the image."""
        settings = self._settings
        if not key.startswith(settings.raw_prefix):
            return Result(Outcome.SKIPPED, None, f"{key} is outside the raw prefix {settings.raw_prefix}")
        image_id = key.rsplit("/", 1)[-1]
        if not is_image_id(image_id):
            return Result(Outcome.SKIPPED, None, f"{key} does not end in an image id")

        item = self._table.get(image_id, self._clock())
        if item is None:
            written = self._raw.last_modified(key)
            if written is None:
                return Result(Outcome.SKIPPED, image_id, "no item and no object (an upload rolled back)")
            age = self._clock() - written
            if age < ORPHAN_GRACE:
                raise ItemNotWrittenYet(f"{key} has no item yet; retrying", retry_after(age))
            # Never registered, or its item expired: nothing may keep the bytes.
            self._raw.delete(key)
            return Result(Outcome.SKIPPED, image_id, "no live item for this object: object deleted")
        if item.raw_key != key:
            return Result(Outcome.SKIPPED, image_id, f"the item's raw key is {item.raw_key}, not {key}")
        if version_id is None and item.status is not ImageStatus.REJECTED:
            # An event without a version (the emulator's notifications): the pinned version, else the current one.
            if item.raw_version:
                self._discard_other_versions(item)
                version_id = item.raw_version
            else:
                version_id = self._raw.current_version(key)
        if version_id and item.raw_version and item.raw_version != version_id:
            return self._discard_later_version(image_id, key, version_id)
        if item.status is ImageStatus.PROCESSED:
            return Result(Outcome.SKIPPED, image_id, "already processed")
        if item.status is ImageStatus.REJECTED:
            self._raw.delete(key)
            return Result(Outcome.SKIPPED, image_id, "already rejected")

        verdict = self._scan_verdict(key, version_id)  # before any write: a pending scan leaves all as it was

        try:
            self._table.transition(
                image_id, ImageStatus.PROCESSING, self._clock(), tenant_id=item.tenant_id, pin_version=version_id
            )
        except TransitionRefused:
            pinned = self._table.get(image_id, self._clock())
            if version_id and pinned is not None and pinned.raw_version not in (None, version_id):
                return self._discard_later_version(image_id, key, version_id)  # another version won the pin
            return Result(Outcome.SKIPPED, image_id, "another attempt finished it, or it expired")
        if verdict is not None:
            return self._reject(item, *verdict)

        try:
            data = self._raw.get(key, settings.limits.max_bytes, version_id)
        except ObjectTooLarge as err:
            return self._reject(item, Reason.TOO_LARGE, str(err))
        if data is None:
            return self._reject(item, Reason.EMPTY, "the raw object is gone")
        if item.size_bytes is not None and item.size_bytes != len(data):
            return self._reject(item, Reason.SIZE_MISMATCH, f"declared {item.size_bytes} bytes, received {len(data)}")
        if item.sha256 is not None and item.sha256 != hashlib.sha256(data).hexdigest():
            return self._reject(item, Reason.CHECKSUM_MISMATCH, "the bytes do not match the declared sha256")
        try:
            result = engine.process(data, settings.renditions, settings.limits, declared_type=item.declared_type)
        except ValidationError as err:
            return self._reject(item, err.reason, err.message)

        renditions: dict[str, RenditionRecord] = {}
        for spec, rendition in zip(settings.renditions, result.renditions, strict=True):
            out_key = rendition_key(settings.processed_prefix, image_id, spec, item.tenant_id)
            self._processed.put(
                out_key, rendition.data, spec.format.mime_type, metadata={"image-id": image_id, "rendition": spec.name}
            )
            renditions[spec.name] = RenditionRecord(
                key=out_key,
                format=spec.format.value,
                width=rendition.width,
                height=rendition.height,
                size_bytes=rendition.size_bytes,
            )
        timings = {step: round(ms) for step, ms in result.timings_ms.items()}
        try:
            self._table.transition(
                image_id,
                ImageStatus.PROCESSED,
                self._clock(),
                tenant_id=item.tenant_id,
                format=result.format.value,
                mode=result.mode,
                frames=result.frames,
                width=result.width,
                height=result.height,
                size_bytes=result.size_bytes,
                sha256=result.sha256,
                phash=result.phash,
                dominant_color=result.dominant_color,
                camera=result.camera or None,
                processing_ms=timings,
                processed_at=_iso(self._clock()),
                renditions={name: r.model_dump() for name, r in renditions.items()},
            )
        except TransitionRefused:
            if self._table.get(image_id, self._clock()) is None:
                # Deleted by its tenant (or expired) while this ran: the purge could not know these renditions.
                for record in renditions.values():
                    purge_key(self._processed, record.key)
                return Result(Outcome.SKIPPED, image_id, "the image was deleted while processed: renditions removed")
            return Result(Outcome.SKIPPED, image_id, "another attempt finished it first")
        return Result(Outcome.PROCESSED, image_id, f"{len(renditions)} renditions", processing_ms=timings)

    def _discard_other_versions(self, item: ImageItem) -> None:
        """Deletes every version of the item's raw key but the pinned one (written later: not the image)."""
        versions = self._raw.versions_of(item.raw_key)
        others = [v for v in versions if v.key == item.raw_key and v.version_id != item.raw_version]
        if others:
            self._raw.delete_versions(others)
            log.info("discarded %d later version(s) of %s", len(others), item.raw_key)

    def _discard_later_version(self, image_id: str, key: str, version_id: str) -> Result:
        self._raw.delete_version(key, version_id)
        log.info("discarded version %s of %s: the image is another version of it", version_id, key)
        return Result(Outcome.SKIPPED, image_id, "another version of the object is the image: this one deleted")

    def _scan_verdict(self, key: str, version_id: str | None = None) -> tuple[Reason, str] | None:
        """None to go on; the refusal when GuardDuty found a threat or (scan required) could not scan."""
        status = (self._raw.tags(key, version_id) or {}).get(SCAN_STATUS_TAG)
        if status == "THREATS_FOUND":
            return Reason.MALWARE, "GuardDuty Malware Protection found a threat in the object"
        if self._settings.malware_scan is MalwareScan.OBSERVED or status == "NO_THREATS_FOUND":
            return None
        if status is None:
            raise ScanPending(f"{key} has no {SCAN_STATUS_TAG} tag yet; retrying")
        return Reason.NOT_SCANNED, f"GuardDuty could not scan the object ({status[:40]})"

    def _reject(self, item: ImageItem, reason: Reason, message: str) -> Result:
        """REJECTED with the reason first, then the raw bytes go: a retry after a crash in between finds a
        REJECTED item and deletes the object again."""
        try:
            self._table.transition(
                item.image_id,
                ImageStatus.REJECTED,
                self._clock(),
                tenant_id=item.tenant_id,
                reject_reason=reason.value,
                reject_message=message[:300],
            )
        except TransitionRefused:
            return Result(Outcome.SKIPPED, item.image_id, "another attempt finished it first")
        self._raw.delete(item.raw_key)
        log.info("rejected %s: %s (%s)", item.image_id, reason.value, message)
        return Result(Outcome.REJECTED, item.image_id, message, reason=reason)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
