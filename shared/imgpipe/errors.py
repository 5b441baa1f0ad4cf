"""The errors the image engine lets out: a refusal with a stable reason code, and a retry that says when.

Their own module so that every part of the engine (validation, structure walkers, processing) can raise them
without importing one another, and a handler can catch them without loading the engine.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class RetryLater(Exception):
    """Not now, but later: the message that brought the work should come back after retry_after."""

    def __init__(self, message: str, retry_after: timedelta) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Reason(StrEnum):
    """Why an image was refused. Values are stable: they are stored and counted."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    UNSUPPORTED_TYPE = "unsupported_type"  # declared type outside the allowlist
    UNKNOWN_FORMAT = "unknown_format"  # the bytes are no image format we accept
    TYPE_MISMATCH = "type_mismatch"  # declared one format, bytes are another
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    POLYGLOT = "polyglot"  # trailing data or embedded markup: the file is also something else
    TOO_MANY_PIXELS = "too_many_pixels"
    DIMENSION_TOO_LARGE = "dimension_too_large"
    TOO_MANY_FRAMES = "too_many_frames"
    TOO_EXPENSIVE = "too_expensive"  # more structure (scans, markers, chunks) or time than the work budget allows
    BAD_FILENAME = "bad_filename"
    SIZE_MISMATCH = "size_mismatch"  # a presigned upload's bytes differ in size from what was declared
    CHECKSUM_MISMATCH = "checksum_mismatch"  # ... or from the SHA-256 the client declared
    BAD_ENVELOPE = "bad_envelope"  # a Kafka record's claim-check JSON or headers are malformed
    REFERENCE_NOT_ALLOWED = "reference_not_allowed"  # a claim-check names an object outside the staging prefix
    REFERENCE_MISSING = "reference_missing"  # ... or one that does not exist
    UNKNOWN_SOURCE = "unknown_source"  # a Kafka record from a source no tenant is configured for
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"  # a Kafka record reuses an earlier record's key with other bytes
    MALWARE = "malware"  # GuardDuty Malware Protection for S3 tagged the raw object THREATS_FOUND
    NOT_SCANNED = "not_scanned"  # a scan is required and GuardDuty could not scan it (UNSUPPORTED, FAILED, ...)

    @property
    def http_status(self) -> int:
        return {
            Reason.TOO_LARGE: 413,
            Reason.UNSUPPORTED_TYPE: 415,
            Reason.UNKNOWN_FORMAT: 415,
            Reason.TYPE_MISMATCH: 415,
            Reason.EMPTY: 400,
            Reason.BAD_FILENAME: 400,
        }.get(self, 422)


class ValidationError(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    @property
    def http_status(self) -> int:
        return self.reason.http_status
