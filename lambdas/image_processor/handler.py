"""image_processor: raw object -> renditions + metadata. SQS (S3 event notifications) -> imgpipe.processing.

Thin: Powertools batch processing reports failed messages only (ReportBatchItemFailures), so one poison
message is retried and dead-lettered alone; S3's s3:TestEvent and non-ObjectCreated records are ignored.
A message fails (and is retried) only for transient errors: bad images end as REJECTED items, not retries.

Split processing mode (LARGE_IMAGE_QUEUE_URL set): a notification naming an object of LARGE_IMAGE_MIN_BYTES or
more is passed on, unchanged, to the container workers' queue instead of being processed here. The size is the
one S3's event carries, so that rule reads nothing. With LARGE_IMAGE_MIN_PIXELS too, a smaller object whose
header states that many pixels or more is passed on as well: its first 256 KiB are read to find out (one ranged
GET per object). A message that arrives from the workers' queue is never passed on.
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgpipe import config
from imgpipe.adapters import environment
from imgpipe.adapters.s3_client import s3_client
from imgpipe.errors import RetryLater
from imgpipe.ids import is_image_id
from imgpipe.runtime import NAMESPACE, FunctionRuntime

if TYPE_CHECKING:
    from imgpipe.processing import ImageProcessor

fn = FunctionRuntime.for_service("image_processor")
logger, metrics, tracer = fn.logger, fn.metrics, fn.tracer
# With the function's logger, every failed message is logged once with its exception and the image's id.
batch = BatchProcessor(event_type=EventType.SQS, logger=logger)  # type: ignore[arg-type]  # a logging.Logger
# What an image may take besides its engine budget: reading the object, writing renditions and the item.
IO_MARGIN_SECONDS = 5.0


class MalformedMessage(ValueError):
    """The message is not an S3 event notification: retrying cannot help; it goes to the DLQ."""


class NoTimeLeft(Exception):
    """Too little of this invocation is left to give the next image its whole budget: the message is released
    for another invocation, so that one slow image never times out its batch (and innocent images with it)."""


# NamedTuples, not dataclasses: the module is also imported without a sys.modules entry (make bench's
# import-time measurement), which dataclasses need.
class LargeImageRoute(NamedTuple):
    """Where the split mode sends large images: the container workers' queue."""

    queue_url: str
    min_bytes: int
    min_pixels: int | None = None  # None: the size alone decides

    @property
    def queue_name(self) -> str:
        return self.queue_url.rstrip("/").rsplit("/", 1)[-1]

    @classmethod
    def from_environment(cls) -> LargeImageRoute | None:
        queue_url = config.optional("LARGE_IMAGE_QUEUE_URL")
        if queue_url is None:
            if config.optional("LARGE_IMAGE_MIN_PIXELS") is not None:
                raise config.ConfigError("LARGE_IMAGE_MIN_PIXELS is set but LARGE_IMAGE_QUEUE_URL is not")
            return None
        min_bytes = config.integer("LARGE_IMAGE_MIN_BYTES", 0, 1, 2**40)
        if min_bytes == 0:
            raise config.ConfigError("LARGE_IMAGE_QUEUE_URL is set but LARGE_IMAGE_MIN_BYTES is not")
        min_pixels = config.integer("LARGE_IMAGE_MIN_PIXELS", 0, 1, 2**40)
        return cls(queue_url, min_bytes, min_pixels or None)


# Read at cold start: a split deployment with a broken threshold fails there, not on the first large image.
LARGE_IMAGE_ROUTE = LargeImageRoute.from_environment()


@cache
def sqs_client() -> Any:
    return boto3.client("sqs")


@cache
def s3() -> Any:
    # One client for the invocation environment's life: each new one costs its set-up and a new connection
    # (a TLS handshake on AWS), which the header reads of split mode paid per message.
    return s3_client()


@cache
def processor() -> ImageProcessor:
    # The engine (Pillow) and the models (pydantic) when the first object is processed, not at init: a batch
    # of S3 test events or malformed messages never loads them.
    from imgpipe.processing import ImageProcessor, MalwareScan, ProcessorSettings
    from imgpipe.renditions import parse_renditions
    from imgpipe.validation import Limits

    settings = ProcessorSettings(
        raw_prefix=config.required("RAW_PREFIX"),
        processed_prefix=config.required("PROCESSED_PREFIX"),
        renditions=parse_renditions(config.optional("RENDITIONS_JSON")),
        limits=Limits(
            max_bytes=environment.max_upload_bytes(),
            max_seconds=config.integer("IMAGE_BUDGET_SECONDS", 10, 1, 300),
        ),
        # required unless Terraform says no scan is set up (MALWARE_SCAN=observed): an unknown value is an error
        malware_scan=MalwareScan(config.optional("MALWARE_SCAN") or MalwareScan.REQUIRED.value),
    )
    return ImageProcessor(
        environment.metadata_table(),
        environment.object_store("RAW_BUCKET", s3()),
        environment.object_store("PROCESSED_BUCKET", s3()),
        settings,
    )


class CreatedObject(NamedTuple):
    key: str  # URL-decoded
    version_id: str | None  # the version written: what the processor reads, whatever comes under the key later
    size: int


def object_keys(record: SQSRecord) -> list[str]:
    """The raw-bucket keys an S3 notification names (URL-decoded); [] for S3's test event."""
    return [created.key for created in created_objects(record)]


def created_objects(record: SQSRecord) -> list[CreatedObject]:
    """The objects an S3 notification says were created in the raw bucket."""
    try:
        body = json.loads(record.body)
    except ValueError:
        raise MalformedMessage("the message body is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedMessage("the message body is not an S3 event notification")
    if body.get("Event") == "s3:TestEvent":
        return []
    if not isinstance(body.get("Records"), list):
        raise MalformedMessage("the message body has no S3 event records")
    bucket = config.required("RAW_BUCKET")
    created: list[CreatedObject] = []
    for s3_record in S3Event(body).records:
        if not s3_record.event_name.startswith("ObjectCreated:"):
            continue
        if s3_record.s3.bucket.name != bucket:
            raise MalformedMessage(f"an event of bucket {s3_record.s3.bucket.name}, not {bucket}")
        written = s3_record.s3.get_object
        # S3 sends keys form-encoded
        created.append(CreatedObject(unquote_plus(written.key), written.version_id or None, int(written.size or 0)))
    return created


# The object is gone (deleted, purged) or empty (S3 refuses any range of zero bytes): nothing to route by, and the
# processor has its own outcome for each, so the function takes the message.
NOTHING_TO_READ = frozenset({"NoSuchKey", "NoSuchVersion", "404", "InvalidRange", "416"})


def header_pixels(created: CreatedObject) -> int | None:
    """The pixels the object's header states, from a ranged read of its first bytes (None: not stated there)."""
    from botocore.exceptions import ClientError

    from imgpipe.validation import HEADER_BYTES, pixels_in_header

    request: dict[str, Any] = {"Bucket": config.required("RAW_BUCKET"), "Key": created.key}
    if created.version_id:
        request["VersionId"] = created.version_id
    try:
        head = s3().get_object(**request, Range=f"bytes=0-{HEADER_BYTES - 1}")["Body"].read()
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in NOTHING_TO_READ:
            return None
        raise  # throttling, a network fault: the message is retried
    return pixels_in_header(head)


def is_large(route: LargeImageRoute, created: CreatedObject) -> tuple[bool, int | None]:
    """Whether the workers take this object, and the pixels read to decide it (None when not read)."""
    if created.size >= route.min_bytes:
        return True, None
    if route.min_pixels is None:
        return False, None
    pixels = header_pixels(created)
    return pixels is not None and pixels >= route.min_pixels, pixels


def pass_on_if_large(record: SQSRecord, objects: list[CreatedObject]) -> bool:
    """Split mode: send a notification naming a large object to the workers' queue as it is, and say so.
    A message already from that queue is the workers' own, whatever its size (no loop)."""
    route = LARGE_IMAGE_ROUTE
    if route is None or record.event_source_arn.rsplit(":", 1)[-1] == route.queue_name:
        return False
    decided = [(created, *is_large(route, created)) for created in objects]
    if not any(large for _, large, _ in decided):
        return False
    sqs_client().send_message(QueueUrl=route.queue_url, MessageBody=record.body)
    for created, _, pixels in decided:
        image_id = created.key.rsplit("/", 1)[-1]
        logger.set_correlation_id(image_id if is_image_id(image_id) else None)
        logger.info(
            "object passed on to the container workers",
            extra={"image_id": image_id, "size": created.size, "pixels": pixels},
        )
    metrics.add_metric(name="ImagesPassedToWorkers", unit=MetricUnit.Count, value=len(objects))
    return True


def ensure_time_for_one_image(context: LambdaContext | None) -> None:
    needed = processor().budget_seconds + IO_MARGIN_SECONDS
    left = context.get_remaining_time_in_millis() / 1000 if context is not None else needed
    if left < needed:
        raise NoTimeLeft(f"{left:.1f} s left of this invocation, an image may need {needed:.0f} s: released")


def deliver_again_in(record: SQSRecord, seconds: int) -> None:
    """Sets when the queue delivers this message again (its visibility timeout from now), instead of the queue's
    own timeout after the failure is reported: the record names its queue and carries its receipt handle."""
    _, _, _, _, account, queue_name = record.event_source_arn.split(":", 5)
    sqs = sqs_client()
    sqs.change_message_visibility(
        QueueUrl=f"{sqs.meta.endpoint_url}/{account}/{queue_name}",
        ReceiptHandle=record.receipt_handle,
        VisibilityTimeout=seconds,
    )


@tracer.capture_method
def handle_record(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    try:
        handle_objects(record, lambda_context)
    except RetryLater as err:  # e.g. imgpipe.processing.ItemNotWrittenYet
        delay = math.ceil(err.retry_after.total_seconds())  # never before the moment it names
        logger.info("delivered again later", extra={"retry_in_seconds": delay, "why": str(err)})
        deliver_again_in(record, delay)
        raise


def handle_objects(record: SQSRecord, lambda_context: LambdaContext | None) -> None:
    objects = created_objects(record)
    if pass_on_if_large(record, objects):
        return
    for created in objects:
        key = created.key
        # Every line about this object carries its image's id as the correlation id (API, Kafka and export too).
        image_id = key.rsplit("/", 1)[-1]
        logger.set_correlation_id(image_id if is_image_id(image_id) else None)
        ensure_time_for_one_image(lambda_context)
        result = processor().process_object(key, created.version_id)
        from imgpipe.processing import Outcome  # loaded with processor()

        logger.info(
            "object handled",
            extra={
                "image_id": result.image_id,
                "outcome": result.outcome.value,
                "reason": result.reason.value if result.reason else None,
                "detail": result.detail,
            },
        )
        if result.outcome is Outcome.PROCESSED:
            metrics.add_metric(name="ImagesProcessed", unit=MetricUnit.Count, value=1)
            total = sum(result.processing_ms.values())
            metrics.add_metric(name="ProcessingTime", unit=MetricUnit.Milliseconds, value=total)
        elif result.outcome is Outcome.REJECTED and result.reason is not None:
            # Its own EMF document: a batch may reject for several reasons, and dimensions are per document.
            with single_metric(name="ImagesRejected", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
                metric.add_dimension(name="service", value="image_processor")
                metric.add_dimension(name="reason", value=result.reason.value)


@fn.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=batch, context=context)
