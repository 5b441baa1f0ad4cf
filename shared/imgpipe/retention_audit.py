"""The retention audit: belt and braces for S3 lifecycle and DynamoDB TTL, which delete asynchronously.

Run on a schedule, it purges whatever image-derived data is past the retention window and still exists:
- items whose expires_at has passed (TTL typically deletes within 48 hours), with their raw object and
  renditions, every version;
- object versions and delete markers in the image buckets written more than retention_days ago (lifecycle
  expires the current version at the first midnight UTC after the window, leaves it as a noncurrent version
  for another day, and runs asynchronously).
It counts both as purged. Anything found more than `grace` past its expiry is also a violation: older than
AWS's own mechanisms explain, so the alarm on RetentionViolations means the guarantee is at risk (the audit
was not running, or something writes outside the pipeline's rules).
Objects go before their item, so a failure halfway leaves an expired (unreadable) item that the next run
finishes, never an item whose objects were kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from imgpipe import retention
from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.adapters.object_store import ObjectStore, StoredVersion
from imgpipe.purge import purge_image_objects


@dataclass(frozen=True)
class AuditSettings:
    retention_days: int = retention.DEFAULT_RETENTION_DAYS
    grace: timedelta = timedelta(hours=48)  # DynamoDB's documented TTL lag; lifecycle's rounding + noncurrent day
    lookback_days: int = 30  # creation days searched for expired items beyond the window

    def __post_init__(self) -> None:
        retention.check_retention_days(self.retention_days)
        if self.grace < timedelta(0) or self.lookback_days < 1:
            raise ValueError("grace must be >= 0 and lookback_days >= 1")


@dataclass(frozen=True)
class Violation:
    store: str  # bucket or table name
    key: str  # object key or image id
    overdue_hours: float  # past the retention window


@dataclass
class AuditReport:
    now: datetime
    purged_items: int = 0
    purged_versions: dict[str, int] = field(default_factory=dict)  # by bucket
    violations: list[Violation] = field(default_factory=list)

    @property
    def purged_objects(self) -> int:
        return sum(self.purged_versions.values())

    def summary(self) -> dict[str, object]:
        return {
            "as_of": self.now.isoformat(),
            "purged_items": self.purged_items,
            "purged_versions": dict(sorted(self.purged_versions.items())),
            "violations": len(self.violations),
        }


class RetentionAudit:
    def __init__(
        self,
        table: MetadataTable,
        table_name: str,
        raw: ObjectStore,
        processed: ObjectStore,
        settings: AuditSettings | None = None,
        extra_buckets: tuple[ObjectStore, ...] = (),
    ) -> None:
        self._table = table
        self._table_name = table_name
        self._raw = raw
        self._processed = processed
        self._buckets = (raw, processed, *extra_buckets)
        self._settings = settings or AuditSettings()

    def run(self, now: datetime) -> AuditReport:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        report = AuditReport(now)
        self._purge_expired_items(now, report)
        self._purge_old_versions(now, report)
        return report

    def _overdue_hours(self, expired_at: datetime, now: datetime) -> float:
        return (now - expired_at).total_seconds() / 3600

    def _purge_expired_items(self, now: datetime, report: AuditReport) -> None:
        settings = self._settings
        for item in self._table.expired(now, settings.retention_days + settings.lookback_days):
            for bucket, count in purge_image_objects(item, self._raw, self._processed).items():
                report.purged_versions[bucket] = report.purged_versions.get(bucket, 0) + count
            if self._table.delete_expired(item.image_id, now):
                report.purged_items += 1
                expired_at = datetime.fromtimestamp(item.expires_at, now.tzinfo)
                if now - expired_at > settings.grace:
                    report.violations.append(
                        Violation(self._table_name, item.image_id, round(self._overdue_hours(expired_at, now), 1))
                    )

    def _purge_old_versions(self, now: datetime, report: AuditReport) -> None:
        window = timedelta(days=self._settings.retention_days)
        for store in self._buckets:
            old: list[StoredVersion] = store.versions_written_before(now - window)
            if not old:
                continue
            store.delete_versions(old)
            report.purged_versions[store.bucket] = report.purged_versions.get(store.bucket, 0) + len(old)
            for version in old:
                expired_at = version.last_modified + window
                if now - expired_at > self._settings.grace:
                    report.violations.append(
                        Violation(store.bucket, version.key, round(self._overdue_hours(expired_at, now), 1))
                    )
