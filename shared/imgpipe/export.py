"""Metadata export for BI: DynamoDB stream changes -> versioned, partitioned NDJSON (gzip) rows.

Schema (EXPORT_COLUMNS, version SCHEMA_VERSION) is what docs/analytics.md documents and what the Glue table
declares; a test keeps the two identical. Rows carry what analysts need for volumes, rejections, sizes and
latency, whose they are (`tenant_id`), and nothing that identifies a person or an image's content (no filename,
owner, hashes, camera data).
Every change is a row: INSERT/MODIFY as `upsert`, REMOVE (TTL or the retention audit) as a `delete` tombstone
(image id, times and tenant only), so a query that keeps each image's latest row and drops tombstones never shows a
purged image.

Files are keyed by the partition of the change (dt=YYYY-MM-DD/hour=HH, UTC) and the stream sequence numbers
they hold, so a retried batch overwrites the same objects with the same bytes; and queries keep each image's
latest row (by sequence), so a change exported twice by a differently split retry changes no result.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

SCHEMA_VERSION = 2  # 2: tenant_id

# name -> Glue/Athena type; the order is the table's column order.
EXPORT_COLUMNS: dict[str, str] = {
    "schema_version": "int",
    "event": "string",  # upsert | delete
    "event_time": "string",  # ISO 8601 UTC of the change (stream ApproximateCreationDateTime)
    "sequence": "string",  # stream sequence number: orders changes of one image
    "image_id": "string",
    "status": "string",
    "source": "string",
    "created_at": "string",
    "expires_at": "bigint",
    "format": "string",
    "width": "int",
    "height": "int",
    "size_bytes": "bigint",
    "frames": "int",
    "reject_reason": "string",
    "processed_at": "string",
    "processing_ms": "bigint",  # total of the processor's steps
    "latency_ms": "bigint",  # created_at -> processed_at
    "rendition_count": "int",
    "rendition_bytes": "bigint",
    "expired_by_ttl": "boolean",  # on delete rows: DynamoDB TTL removed it (else the audit or a person)
    "tenant_id": "string",  # whose image: the key of tenant-filtered reports and QuickSight row-level security
}
PARTITION_KEYS = {"dt": "string", "hour": "string"}


class MalformedChange(ValueError):
    """A stream record without the item's key or image: it cannot be exported, and retrying will not help."""


@dataclass(frozen=True)
class Change:
    """One stream record, decoded."""

    event_name: str  # INSERT | MODIFY | REMOVE
    sequence: str
    at: datetime
    new_image: Mapping[str, Any] | None
    old_image: Mapping[str, Any] | None
    by_ttl: bool = False


def _number(value: Any) -> int | None:
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return int(value)
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _iso_ms(moment: str | None) -> int | None:
    if not moment:
        return None
    try:
        return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def export_row(change: Change) -> dict[str, Any]:
    """The row for one change, with exactly EXPORT_COLUMNS' keys."""
    image = change.new_image if change.event_name != "REMOVE" else change.old_image
    if not image or not _text(image.get("image_id")):
        raise MalformedChange(f"stream record {change.sequence} has no item image with an image_id")
    raw_renditions, raw_steps = image.get("renditions"), image.get("processing_ms")
    renditions: Mapping[str, Any] = raw_renditions if isinstance(raw_renditions, Mapping) else {}
    steps: Mapping[str, Any] = raw_steps if isinstance(raw_steps, Mapping) else {}
    created_ms, processed_ms = _iso_ms(_text(image.get("created_at"))), _iso_ms(_text(image.get("processed_at")))
    rendition_sizes = [_number(r.get("size_bytes")) for r in renditions.values() if isinstance(r, Mapping)]
    row = {
        "schema_version": SCHEMA_VERSION,
        "event": "delete" if change.event_name == "REMOVE" else "upsert",
        "event_time": change.at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "sequence": change.sequence,
        "image_id": image["image_id"],
        "status": _text(image.get("status")),
        "source": _text(image.get("source")),
        "created_at": _text(image.get("created_at")),
        "expires_at": _number(image.get("expires_at")),
        "format": _text(image.get("format")),
        "width": _number(image.get("width")),
        "height": _number(image.get("height")),
        "size_bytes": _number(image.get("size_bytes")),
        "frames": _number(image.get("frames")),
        "reject_reason": _text(image.get("reject_reason")),
        "processed_at": _text(image.get("processed_at")),
        "processing_ms": sum(n for n in (_number(v) for v in steps.values()) if n is not None) if steps else None,
        "latency_ms": processed_ms - created_ms if created_ms is not None and processed_ms is not None else None,
        "rendition_count": len(renditions) if renditions else None,
        "rendition_bytes": sum(n for n in rendition_sizes if n is not None) if renditions else None,
        "expired_by_ttl": change.by_ttl if change.event_name == "REMOVE" else None,
        "tenant_id": _text(image.get("tenant_id")),
    }
    if change.event_name == "REMOVE":
        # A tombstone says which image went and when, nothing of what it was: it is written when the data is
        # purged and must not carry it for another retention window. The tenant stays: a tenant's report (and
        # its row-level security) must see the purge too, or the image would live on in it.
        kept = {"schema_version", "event", "event_time", "sequence", "image_id", "expires_at", "expired_by_ttl"}
        kept |= {"tenant_id"}
        row = {k: (v if k in kept else None) for k, v in row.items()}
    assert list(row) == list(EXPORT_COLUMNS)  # the schema and the rows cannot drift apart
    return row


@dataclass(frozen=True)
class ExportFile:
    key: str
    body: bytes  # gzip of newline-delimited JSON
    rows: int
    sequences: tuple[str, ...]
    image_ids: tuple[str, ...] = ()  # whose changes it holds (sorted): for logs, not written into the file


def export_files(changes: Iterable[Change], prefix: str = "exports/v1/") -> list[ExportFile]:
    """Rows grouped into one file per (dt, hour) partition of their change time, in stream order."""
    grouped: dict[tuple[str, str], list[tuple[Change, dict[str, Any]]]] = {}
    for change in changes:
        moment = change.at.astimezone(UTC)
        grouped.setdefault((f"{moment:%Y-%m-%d}", f"{moment:%H}"), []).append((change, export_row(change)))
    files = []
    for (day, hour), members in grouped.items():
        first, last = members[0][0].sequence, members[-1][0].sequence
        lines = "".join(json.dumps(row, separators=(",", ":"), sort_keys=False) + "\n" for _, row in members)
        files.append(
            ExportFile(
                key=f"{prefix}dt={day}/hour={hour}/{first}-{last}.json.gz",
                body=gzip.compress(lines.encode(), mtime=0),  # mtime 0: a retry writes identical bytes
                rows=len(members),
                sequences=tuple(c.sequence for c, _ in members),
                image_ids=tuple(sorted({str(row["image_id"]) for _, row in members})),
            )
        )
    return files
