"""metadata_export: the metadata table's DynamoDB stream -> NDJSON (gzip) files in the analytics bucket,
partitioned dt=/hour= (imgpipe.export). Removals (TTL, the retention audit) become tombstone rows.

Thin: Powertools' stream event model in, export_files() out, one S3 put per partition file. Partial batch
failures as the stream checkpoint wants them: when a file cannot be written, the first record of that file is
reported, so Lambda retries from there (and bisects on repeated failure); files are keyed by their sequence
numbers, so what was already written is rewritten identically, never duplicated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent, event_source
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgpipe import config
from imgpipe.adapters import environment
from imgpipe.adapters.object_store import ObjectStore
from imgpipe.export import Change, MalformedChange, export_files, export_row
from imgpipe.runtime import FunctionRuntime

fn = FunctionRuntime.for_service("metadata_export")
logger, metrics, tracer = fn.logger, fn.metrics, fn.tracer
TTL_PRINCIPAL = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


@cache
def analytics() -> ObjectStore:
    return environment.object_store("ANALYTICS_BUCKET")


def change_of(record: DynamoDBRecord) -> Change:
    stream = record.dynamodb
    if stream is None or not stream.sequence_number:
        raise MalformedChange(f"stream record {record.event_id} has no sequence number")
    return Change(
        event_name=record.event_name.name if record.event_name else "",
        sequence=stream.sequence_number,
        at=datetime.fromtimestamp(int(stream.approximate_creation_date_time or 0), UTC),
        new_image=stream.new_image or None,
        old_image=stream.old_image or None,
        by_ttl=record.user_identity == TTL_PRINCIPAL,
    )


@fn.handler()
@event_source(data_class=DynamoDBStreamEvent)
def handler(event: DynamoDBStreamEvent, context: LambdaContext) -> dict[str, Any]:
    changes = []
    for record in event.records:
        try:
            change = change_of(record)
            export_row(change)
        except MalformedChange as err:  # retrying cannot fix it, and it must not block the shard
            logger.error("change not exported", extra={"reason": str(err)})
            metrics.add_metric(name="ChangesSkipped", unit=MetricUnit.Count, value=1)
            continue
        changes.append(change)
    prefix = config.optional("EXPORT_PREFIX") or "exports/v1/"
    for file in export_files(changes, prefix):
        try:
            analytics().put(file.key, file.body, "application/gzip")
        except Exception:
            logger.exception("export file not written", extra={"key": file.key})
            return {"batchItemFailures": [{"itemIdentifier": file.sequences[0]}]}
        metrics.add_metric(name="RowsExported", unit=MetricUnit.Count, value=file.rows)
        # A file holds many images' changes: each id is listed, so one image's path can be followed here too.
        logger.info("export file written", extra={"key": file.key, "rows": file.rows, "image_ids": file.image_ids})
    return {"batchItemFailures": []}
