"""retention_audit: on a schedule (EventBridge), purge image-derived data past the retention window that S3
lifecycle and DynamoDB TTL have not deleted yet, and count it (imgpipe.retention_audit).

Thin: the scheduled event in, RetentionAudit.run(now) out, two metrics. RetentionViolations is published on every
run, 0 included, so its alarm can treat a missing datapoint (the audit did not run) as a breach.
The clock is the wall clock. Only with TRUST_EVENT_TIME=true (an explicit envs/local flag, for the local
runtime's time travel) is it the scheduled event's `time`; on AWS that flag stays off, so nobody able to invoke
the function can make it purge early.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgpipe import config
from imgpipe.adapters import environment
from imgpipe.adapters.object_store import ObjectStore
from imgpipe.adapters.s3_client import s3_client
from imgpipe.retention_audit import AuditSettings, RetentionAudit
from imgpipe.runtime import FunctionRuntime

fn = FunctionRuntime.for_service("retention_audit")
logger, metrics, tracer = fn.logger, fn.metrics, fn.tracer


@cache
def audit() -> RetentionAudit:
    kms_key = config.required("KMS_KEY_ARN")
    s3 = s3_client()
    extra = json.loads(config.optional("EXTRA_BUCKETS_JSON") or "[]")
    return RetentionAudit(
        environment.metadata_table(),
        config.required("TABLE_NAME"),
        environment.object_store("RAW_BUCKET", s3),
        environment.object_store("PROCESSED_BUCKET", s3),
        AuditSettings(
            retention_days=environment.retention_days(),
            grace=timedelta(hours=config.integer("GRACE_HOURS", 48, 0, 168)),
            lookback_days=config.integer("LOOKBACK_DAYS", 30, 1, 365),
        ),
        extra_buckets=tuple(ObjectStore(s3, str(name), kms_key) for name in extra),
    )


def audit_time(event: EventBridgeEvent) -> datetime:
    if config.optional("TRUST_EVENT_TIME") == "true":
        return datetime.fromisoformat(event.time.replace("Z", "+00:00")).astimezone(UTC)
    return datetime.now(UTC)


@fn.handler()
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    report = audit().run(audit_time(event))
    for violation in report.violations[:100]:  # keys and ids only, never image bytes; the count says the rest
        logger.warning(
            "retention violation",
            extra={"store": violation.store, "key": violation.key, "overdue_hours": violation.overdue_hours},
        )
    metrics.add_metric(name="RetentionPurged", unit=MetricUnit.Count, value=report.purged_items + report.purged_objects)
    metrics.add_metric(name="RetentionViolations", unit=MetricUnit.Count, value=len(report.violations))
    summary = report.summary()
    logger.info("retention audit done", extra=summary)
    return summary
