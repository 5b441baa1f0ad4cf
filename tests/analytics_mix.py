"""A known mix of images as export files (made by imgpipe.export from stream changes), with the numbers every
report must give for it: shared by the report's unit tests and its rendered-page test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from imgpipe.export import Change, export_files

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
EXPIRES = int((NOW + timedelta(days=7)).timestamp())


def image(
    image_id: str,
    source: str,
    created: str,
    fmt: str,
    size: int,
    dims: tuple[int, int],
    *,
    latency_ms: int | None = None,
    processing_ms: int | None = None,
    reject_reason: str | None = None,
    expires_at: int = EXPIRES,
    tenant: str = "team-a",
) -> dict[str, Any]:
    """A table item as the stream carries it (only what the export reads)."""
    created_at = datetime.fromisoformat(f"2026-12-01T{created}:00+00:00")
    record: dict[str, Any] = {
        "image_id": image_id,
        "source": source,
        "status": "RECEIVED",
        "created_at": created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "expires_at": expires_at,
        "format": fmt,
        "width": dims[0],
        "height": dims[1],
        "size_bytes": size,
        "filename": f"{image_id}-private.png",
        "tenant_id": tenant,
    }
    if latency_ms is not None:
        processed_at = created_at + timedelta(milliseconds=latency_ms)
        record |= {
            "status": "PROCESSED",
            "processed_at": processed_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "processing_ms": {"decode": 10, "renditions": (processing_ms or 10) - 10},
            "renditions": {"thumb": {"key": "k", "format": "webp", "width": 1, "height": 1, "size_bytes": 99}},
        }
    if reject_reason:
        record |= {"status": "REJECTED", "reject_reason": reject_reason}
    return record


# The known mix: 11 images of two tenants; two that must not be counted (purged, expired) and one change exported
# twice. team-b has a3, ar2, k2 and k3 (and the expired one); team-a the rest (and the purged one).
MIX = [
    image("a1", "api", "09:10", "png", 1000, (1000, 1000), latency_ms=100, processing_ms=40),
    image("a2", "api", "09:20", "png", 3000, (2000, 1000), latency_ms=300, processing_ms=60),
    image("a3", "api", "10:05", "jpeg", 5000, (3000, 2000), latency_ms=500, processing_ms=80, tenant="team-b"),
    image("ar1", "api", "09:30", "png", 150, (100, 100), reject_reason="size_mismatch"),
    image("ar2", "api", "10:40", "png", 250, (300, 100), reject_reason="size_mismatch", tenant="team-b"),
    image("k1", "kafka", "09:15", "webp", 2000, (1000, 500), latency_ms=1000, processing_ms=100),
    image("k2", "kafka", "10:15", "webp", 4000, (1500, 1000), latency_ms=2000, processing_ms=200, tenant="team-b"),
    image("k3", "kafka", "10:20", "jpeg", 700, (30, 30), reject_reason="truncated", tenant="team-b"),
]
PURGED = image("gone", "api", "09:50", "png", 9999, (4000, 4000), latency_ms=9000, processing_ms=900)
EXPIRED = image(
    "stale", "api", "09:55", "gif", 8888, (10, 10), latency_ms=8000, expires_at=int(NOW.timestamp()), tenant="team-b"
)


def write_exports(directory: Path, batches: list[list[Change]]) -> None:
    for batch in batches:
        for f in export_files(batch):
            path = directory / f.key.removeprefix("exports/v1/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f.body)


def changes_of(items: list[dict[str, Any]], start: int) -> list[Change]:
    """Each image's life on the stream: inserted RECEIVED, then modified to its final state."""
    changes, seq = [], start
    for item in items:
        at = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
        received = {**item, "status": "RECEIVED"}
        for key in ("processed_at", "processing_ms", "renditions", "reject_reason"):
            received.pop(key, None)
        changes.append(Change("INSERT", str(seq), at, received, None))
        if item["status"] != "RECEIVED":
            changes.append(Change("MODIFY", str(seq + 1), at + timedelta(seconds=2), item, received))
        seq += 2
    return changes


def write_known_mix(directory: Path) -> Path:
    everything = changes_of([*MIX, PURGED, EXPIRED], start=100)
    # a retry that split the stream differently: a1's PROCESSED change is in two files
    retry = [c for c in everything if c.new_image and c.new_image["image_id"] == "a1" and c.event_name == "MODIFY"]
    # sequence 9000 > any above, and shorter numbers order first (length, then text), as stream numbers do
    removal = Change("REMOVE", "9000", NOW - timedelta(minutes=5), None, PURGED, by_ttl=True)
    write_exports(directory, [everything[:7], everything[7:], retry, [removal]])
    return directory
