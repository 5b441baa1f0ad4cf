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
import warnings
from datetime import timedelta
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgpipe import config
from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.adapters.object_store import ObjectStore
from imgpipe.adapters.request_claims import RequestClaims
from imgpipe.adapters.s3_client import s3_client
from imgpipe.kafka_ingest import KafkaIngestService, KafkaIngestSettings, KafkaRecord, RecordRejected, SourceTenants
from imgpipe.validation import Limits

warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="kafka_ingest")
copy_config_to_registered_loggers(source_logger=logger, include={"imgpipe"})
metrics = Metrics(namespace="imgpipe", service="kafka_ingest")
tracer = Tracer(service="kafka_ingest")
# With the function's logger, every failed record is logged once with its exception (the give-ups included).
batch = BatchProcessor(event_type=EventType.Kafka, logger=logger)  # type: ignore[arg-type]  # a logging.Logger
_replayed: list[bool] = []  # set by the idempotency response hook for the record being handled


@cache
def service() -> KafkaIngestService:
    kms_key = config.required("KMS_KEY_ARN")
    s3 = s3_client()
    raw_bucket = config.required("RAW_BUCKET")
    settings = KafkaIngestSettings(
        raw_prefix=config.required("RAW_PREFIX"),
        retention_days=config.integer("RETENTION_DAYS", 7, 1, 7),
        max_inline_bytes=config.integer("MAX_INLINE_BYTES", 1024 * 1024, 1, 6 * 1024 * 1024),
        max_claim_check_bytes=config.integer("MAX_CLAIM_CHECK_BYTES", 10 * 1024 * 1024, 1, 10 * 1024 * 1024),
        claim_check_bucket=raw_bucket,
        claim_check_prefix=config.required("CLAIM_CHECK_PREFIX"),
        limits=Limits(max_bytes=config.integer("MAX_CLAIM_CHECK_BYTES", 10 * 1024 * 1024, 1, 10 * 1024 * 1024)),
        tenants=SourceTenants.parse(config.optional("SOURCE_TENANTS_JSON"), config.optional("DEFAULT_TENANT")),
    )
    raw = ObjectStore(s3, raw_bucket, kms_key)
    return KafkaIngestService(
        MetadataTable(boto3.client("dynamodb"), config.required("TABLE_NAME")),
        raw,
        settings,
        staging=raw,
        # Which image a record's dedup key stands for, written before the image: converges every retry.
        claims=RequestClaims(
            boto3.client("dynamodb"),
            config.required("IDEMPOTENCY_TABLE"),
            scope="kafka",
            lifetime=timedelta(seconds=config.integer("IDEMPOTENCY_SECONDS", 7 * 86400, 60, 7 * 86400)),
        ),
    )


@cache
def rejects_queue() -> tuple[Any, str]:
    return boto3.client("sqs"), config.required("REJECTS_QUEUE_URL")


def mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    _replayed.append(True)
    return response


@cache
def idempotency_config() -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="dedup_key",
        hash_function="sha256",
        # As long as anything of the image may exist: a replay after that stores it again, and it expires again.
        expires_after_seconds=config.integer("IDEMPOTENCY_SECONDS", 7 * 86400, 60, 7 * 86400),
        response_hook=mark_replayed,
    )


@cache
def ingest_once() -> Any:
    persistence = DynamoDBPersistenceLayer(table_name=config.required("IDEMPOTENCY_TABLE"))

    @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
        data_keyword_argument="identity", config=idempotency_config(), persistence_store=persistence
    )
    def ingest(identity: dict[str, str], record: KafkaRecord) -> dict[str, Any]:
        try:
            return {"stored": service().ingest(record)}
        except RecordRejected as rejected:
            # Reported inside the idempotent call: a failed send fails the record (retried), and a replay of a
            # reported rejection returns the saved outcome without reporting it twice.
            report_rejection(record, rejected)
            return {"rejected": {"reason": rejected.reason.value, "message": rejected.message}}

    return ingest


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
    try:
        return record.dedup_key()
    except RecordRejected:
        return record.offset_key  # unreadable headers: ingest rejects the record, once per delivery coordinates


@tracer.capture_method
def handle_record(record: KafkaEventRecord) -> None:
    parsed = kafka_record(record)
    logger.set_correlation_id(None)  # a record has no image until it is stored
    _replayed.clear()
    conflict = service().conflict(parsed)
    if conflict is not None:
        # Not through the idempotency layer: it would replay the earlier record's outcome for these bytes.
        report_rejection(parsed, conflict)
        outcome: dict[str, Any] = {"rejected": {"reason": conflict.reason.value, "message": conflict.message}}
    else:
        outcome = ingest_once()(identity={"dedup_key": dedup_key(parsed)}, record=parsed)
    replayed = bool(_replayed)
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
            with single_metric(name="RecordsRejected", unit=MetricUnit.Count, value=1, namespace="imgpipe") as metric:
                metric.add_dimension(name="service", value="kafka_ingest")
                metric.add_dimension(name="reason", value=reason)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency_config().register_lambda_context(context)
    return process_partial_response(event=event, record_handler=handle_record, processor=batch, context=context)
