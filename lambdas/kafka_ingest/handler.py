"""kafka_ingest: MSK / self-managed Kafka records -> raw object + RECEIVED item (imgpipe.kafka_ingest).

Thin: Powertools batch processing over the Kafka event (records grouped by topic-partition) reports only the
records that failed transiently (itemIdentifier {partition, offset}), so the event source retries those and
then sends them to its on-failure destination. A record that is wrong (hostile image, bad envelope, oversized,
reference outside the staging prefix) is not a failure: its reason and coordinates, never its bytes, go to the
rejects queue and its offset advances. Each record runs once per dedup key (Powertools idempotency on
DynamoDB): a replayed topic or a producer's retry stores nothing twice and re-reports nothing.
"""

from __future__ import annotations

import base64
import json
import time
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgpipe import config, idempotency
from imgpipe.adapters import environment
from imgpipe.adapters.s3_client import s3_client
from imgpipe.runtime import NAMESPACE, FunctionRuntime

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from imgpipe.adapters.request_claims import Claim
    from imgpipe.kafka_ingest import KafkaIngestService, KafkaRecord, RecordRejected

fn = FunctionRuntime.for_service("kafka_ingest")
logger, metrics, tracer = fn.logger, fn.metrics, fn.tracer
# With the function's logger, every failed record is logged once with its exception (the give-ups included).
batch = BatchProcessor(event_type=EventType.Kafka, logger=logger)  # type: ignore[arg-type]  # a logging.Logger


@cache
def service() -> KafkaIngestService:
    # The use case (validation and Pillow, the item model and pydantic) on the first record, not at init.
    from imgpipe.kafka_ingest import KafkaIngestService, KafkaIngestSettings, SourceTenants
    from imgpipe.validation import Limits

    raw = environment.object_store("RAW_BUCKET", s3_client())
    settings = KafkaIngestSettings(
        raw_prefix=config.required("RAW_PREFIX"),
        retention_days=environment.retention_days(),
        max_inline_bytes=config.integer("MAX_INLINE_BYTES", 1024 * 1024, 1, 6 * 1024 * 1024),
        max_claim_check_bytes=config.integer("MAX_CLAIM_CHECK_BYTES", 10 * 1024 * 1024, 1, 10 * 1024 * 1024),
        claim_check_bucket=raw.bucket,
        claim_check_prefix=config.required("CLAIM_CHECK_PREFIX"),
        limits=Limits(max_bytes=config.integer("MAX_CLAIM_CHECK_BYTES", 10 * 1024 * 1024, 1, 10 * 1024 * 1024)),
        tenants=SourceTenants.parse(config.optional("SOURCE_TENANTS_JSON"), config.optional("DEFAULT_TENANT")),
    )
    return KafkaIngestService(
        environment.metadata_table(),
        raw,
        settings,
        staging=raw,
        # Which image a record's dedup key stands for, written before the image: converges every retry.
        claims=environment.request_claims("kafka", idempotency_seconds()),
    )


def idempotency_seconds() -> int:
    # As long as anything of the image may exist: a replay after that stores it again, and it expires again.
    return idempotency.seconds(7 * 86400, 7 * 86400)


@cache
def rejects_queue() -> tuple[Any, str]:
    return boto3.client("sqs"), config.required("REJECTS_QUEUE_URL")


@cache
def idempotency_config() -> IdempotencyConfig:
    return idempotency.settings("dedup_key", idempotency_seconds())


@cache
def ingest_once() -> idempotency.Once[dict[str, Any]]:
    return idempotency.Once(ingest, idempotency_config(), data_keyword_argument="identity")


def ingest(identity: dict[str, str], record: KafkaRecord, claim: Claim | None) -> dict[str, Any]:
    from imgpipe.kafka_ingest import RecordRejected

    try:
        return {"stored": service().ingest(record, claim)}
    except RecordRejected as rejected:
        # Reported inside the idempotent call: a failed send fails the record (retried), and a replay of a
        # reported rejection returns the saved outcome without reporting it twice.
        report_rejection(record, rejected)
        return {"rejected": {"reason": rejected.reason.value, "message": rejected.message}}


def report_rejection(record: KafkaRecord, rejected: RecordRejected) -> None:
    sqs, url = rejects_queue()
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(
            {
                "reason": rejected.reason.value,
                "message": rejected.message[:500],
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "timestamp": record.timestamp_ms,
                "value_bytes": len(record.value),
                "header_names": sorted(record.headers)[:20],
            }
        ),
    )


def kafka_record(record: KafkaEventRecord) -> KafkaRecord:
    from imgpipe.kafka_ingest import KafkaRecord

    raw = record.raw_event
    return KafkaRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp,
        value=base64.b64decode(raw.get("value") or ""),  # a tombstone has no value at all
        # MSK sends header bytes as Java's signed bytes (-128..127) for anything outside ASCII. Names keep their
        # case here (reported as sent); KafkaRecord.header compares them case-insensitively.
        headers={
            name: bytes(b & 0xFF for b in value) for header in record.headers or [] for name, value in header.items()
        },
    )


def dedup_key(record: KafkaRecord) -> str:
    from imgpipe.kafka_ingest import RecordRejected

    try:
        return record.dedup_key()
    except RecordRejected:
        return record.offset_key  # unreadable headers: ingest rejects the record, once per delivery coordinates


@tracer.capture_method
def handle_record(record: KafkaEventRecord, lambda_context: LambdaContext | None = None) -> None:
    parsed = kafka_record(record)
    logger.set_correlation_id(None)  # a record has no image until it is stored
    claim = service().claim_of(parsed)  # read once: the conflict check and the ingest both use it
    conflict = service().conflict(parsed, claim)
    replayed = False
    if conflict is not None:
        # Not through the idempotency layer: it would replay the earlier record's outcome for these bytes.
        report_rejection(parsed, conflict)
        outcome: dict[str, Any] = {"rejected": {"reason": conflict.reason.value, "message": conflict.message}}
    else:
        run = ingest_once()(lambda_context, identity={"dedup_key": dedup_key(parsed)}, record=parsed, claim=claim)
        outcome, replayed = run.value, run.replayed
    metrics.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=1)
    if "stored" in outcome:
        logger.set_correlation_id(outcome["stored"]["image_id"])
        logger.info(
            "record stored" if not replayed else "record already stored",
            extra={"coordinates": parsed.coordinates, "image_id": outcome["stored"]["image_id"]},
        )
        if not replayed:
            metrics.add_metric(
                name="IngestLatency",
                unit=MetricUnit.Milliseconds,
                value=max(0, time.time() * 1000 - parsed.timestamp_ms),
            )
    else:
        reason = outcome["rejected"]["reason"]
        logger.info("record rejected", extra={"coordinates": parsed.coordinates, "reason": reason, "replay": replayed})
        if not replayed:
            with single_metric(name="RecordsRejected", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
                metric.add_dimension(name="service", value="kafka_ingest")
                metric.add_dimension(name="reason", value=reason)


@fn.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=batch, context=context)
