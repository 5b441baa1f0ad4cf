"""The processor at the concurrency the local worker gives it, against the deployed stack: several batches at
once in their own execution environments, every S3 event delivered twice (SQS is at-least-once), and the worker
stopped by SIGTERM's drain in the middle of the backlog, then a new worker. Nothing is lost, nothing doubled:
one item per image, each PROCESSED, only the expected renditions, every version of a rendition the same bytes."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, Source
from scripts.local import stack
from scripts.local import worker as local_worker
from scripts.local.lambda_host import FunctionHost

pytestmark = pytest.mark.integration
IMAGES = 12


def photo(n: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (900 + n, 700), (n * 20 % 256, 90, 160)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {timeout_s} s"
        time.sleep(0.2)


def duplicate_every_message(sqs: Any, queue_url: str, expected: int) -> int:
    """Sends a second copy of each S3 event waiting in the queue, as SQS may deliver one twice."""
    bodies: list[str] = []
    deadline = time.monotonic() + 30
    while len(bodies) < expected and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        for message in got:
            bodies.append(message["Body"])
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    for body in bodies:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    return len(bodies)


def test_concurrent_duplicate_deliveries_and_a_mid_backlog_stop_lose_and_double_nothing(
    deployed: dict[str, Any], local_stack: stack.StackConfig, host: FunctionHost
) -> None:
    s3, sqs = stack.aws_client(local_stack, "s3"), stack.aws_client(local_stack, "sqs")
    table = MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])
    queue_url = deployed["raw_events_queue_url"]
    images = []
    for n in range(IMAGES):
        image_id = new_image_id()
        item = ImageItem.new(image_id, Source.API, ImageStatus.RECEIVED, f"{deployed['raw_prefix']}{image_id}")
        table.put_new(item)
        s3.put_object(Bucket=deployed["raw_bucket_name"], Key=item.raw_key, Body=photo(n), ContentType="image/jpeg")
        images.append(image_id)
    assert duplicate_every_message(sqs, queue_url, IMAGES) >= IMAGES

    def processed() -> list[str]:
        found = [table.get(i) for i in images]
        return [f.image_id for f in found if f is not None and f.status is ImageStatus.PROCESSED]

    first = local_worker.build(local_stack, retry_seconds=0, outputs=deployed, host=host)
    [poller] = first.pollers
    assert poller.concurrency > 1, "the worker runs the mapping's batches at once"
    first.pollers = [poller]  # the function only: the container tasks are another test's
    first.kafka_pollers, first.stream_pollers, first.services = [], [], []
    first.start()
    wait_for(lambda: len(processed()) >= 3, "the first images processed")
    first.drain(timeout_s=0.2)  # SIGTERM's drain, cut short: whatever is still running is released
    second = local_worker.build(local_stack, retry_seconds=0, outputs=deployed, host=host)
    second.kafka_pollers, second.stream_pollers, second.services = [], [], []
    second.start()
    try:
        wait_for(lambda: len(processed()) == IMAGES, "every image processed after the restart")
        wait_for(lambda: queue_depth(sqs, queue_url) == 0, "the duplicates delivered too")
    finally:
        second.drain(timeout_s=5)

    items = [table.get(image_id) for image_id in images]
    assert all(i is not None and i.status is ImageStatus.PROCESSED and i.renditions for i in items)
    shapes = {tuple(sorted(i.renditions)) for i in items if i is not None}
    assert len(shapes) == 1  # the same renditions for every image, once each
    listed = s3.list_object_versions(Bucket=deployed["processed_bucket_name"], Prefix=deployed["processed_prefix"])
    tags: dict[str, set[str]] = {}
    for version in listed.get("Versions", []):
        if version["Key"].split("/")[-2] in images:
            tags.setdefault(version["Key"], set()).add(version["ETag"])
    expected_keys = {r.key for i in items if i is not None for r in i.renditions.values()}
    assert set(tags) == expected_keys  # nothing written beside the renditions the items name
    assert all(len(etags) == 1 for etags in tags.values()), tags  # redone work wrote the same bytes
    assert queue_depth(sqs, deployed["raw_events_dlq_url"]) == 0


def queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_an_object_seen_before_its_item_comes_back_when_the_processor_says(
    deployed: dict[str, Any], local_stack: stack.StackConfig, host: FunctionHost
) -> None:
    """The worker as `make up` runs it (no retry shortcut): the deployed processor, finding no item for a fresh
    object, sets its own message's visibility on the emulator's queue (5 s), not the queue's 360 s."""
    s3, sqs = stack.aws_client(local_stack, "s3"), stack.aws_client(local_stack, "sqs")
    table = MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])
    image_id = new_image_id()
    item = ImageItem.new(image_id, Source.API, ImageStatus.RECEIVED, f"{deployed['raw_prefix']}{image_id}")
    s3.put_object(Bucket=deployed["raw_bucket_name"], Key=item.raw_key, Body=photo(1), ContentType="image/jpeg")
    worker = local_worker.build(local_stack, outputs=deployed, host=host)
    [poller] = worker.pollers
    deadline = time.monotonic() + 60
    while poller.stats.failed == 0:  # the first delivery finds no item
        assert time.monotonic() < deadline, poller.stats
        poller.poll_once()
    failed_at = time.monotonic()
    table.put_new(item)  # the upload's second write, late
    while (found := table.get(image_id)) is None or found.status is not ImageStatus.PROCESSED:
        assert time.monotonic() < deadline, poller.stats
        poller.poll_once()
    waited = time.monotonic() - failed_at
    assert 3 <= waited < 60, waited  # the processor's 5 s (give or take a poll), not the queue's 360 s
    assert queue_depth(sqs, deployed["raw_events_dlq_url"]) == 0
