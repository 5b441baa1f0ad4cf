"""image_processor's container worker (lambdas/image_processor/worker.py) against in-process moto: the Lambda
handler's record handler fed by its own SQS poll — deleted when handled, left to come back when failed, kept
invisible while worked on, released unstarted on shutdown."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.config import ConfigError
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, Source
from scripts.local.events import s3_object_created
from scripts.local.lambda_host import FUNCTIONS_DIR, load_handler
from tests.stores import image_table, processor_environment, versioned_buckets

RAW, PROCESSED, TABLE = "raw-bucket", "processed-bucket", "images"


class Stack:
    def __init__(self, worker_module: ModuleType, queue_url: str) -> None:
        self.module = worker_module
        self.queue_url = queue_url
        self.sqs = boto3.client("sqs")
        self.table = MetadataTable(boto3.client("dynamodb"), TABLE)

    def worker(self, **settings: Any) -> Any:
        return self.module.Worker(
            self.module.WorkerSettings(queue_url=self.queue_url, wait_seconds=0, **settings), sqs=self.sqs
        )

    def send_image(self, size: tuple[int, int] = (120, 80)) -> ImageItem:
        image_id = new_image_id()
        item = ImageItem.new(image_id, Source.API, ImageStatus.RECEIVED, f"raw/{image_id}")
        self.table.put_new(item)
        buffer = __import__("io").BytesIO()
        Image.new("RGB", size, (30, 90, 160)).save(buffer, format="PNG")
        boto3.client("s3").put_object(Bucket=RAW, Key=item.raw_key, Body=buffer.getvalue())
        self.send(json.dumps(s3_object_created(RAW, item.raw_key, len(buffer.getvalue()))))
        return item

    def send(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def counts(self) -> tuple[int, int]:
        """(visible, in flight) messages of the queue."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def status(self, item: ImageItem) -> ImageStatus:
        found = self.table.get(item.image_id)
        assert found is not None
        return found.status


@pytest.fixture
def stack(offline_aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    for name, value in {
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "imgpipe",
        "POWERTOOLS_SERVICE_NAME": "image_processor",
    }.items():
        monkeypatch.setenv(name, value)
    versioned_buckets(boto3.client("s3"), RAW, PROCESSED)
    image_table(boto3.client("dynamodb"), TABLE)
    queue_url = boto3.client("sqs").create_queue(QueueName="raw-events")["QueueUrl"]
    kms_key_arn = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    for name, value in processor_environment(RAW, PROCESSED, TABLE, kms_key_arn).items():
        monkeypatch.setenv(name, value)
    # The worker imports its function's handler as the package does: `handler`, from its own folder.
    monkeypatch.syspath_prepend(str(FUNCTIONS_DIR / "image_processor"))
    monkeypatch.delitem(sys.modules, "handler", raising=False)
    module = load_handler("image_processor", "worker")
    sys.modules["handler"].processor.cache_clear()
    yield Stack(module, queue_url)
    monkeypatch.delitem(sys.modules, "handler", raising=False)


def test_a_handled_message_is_deleted_and_its_image_processed(stack: Stack) -> None:
    items = [stack.send_image() for _ in range(3)]
    worker = stack.worker()
    assert worker.poll_once() == 3
    assert worker.tally.__dict__ == {"processed": 3, "failed": 0, "released": 0}
    assert [stack.status(i) for i in items] == [ImageStatus.PROCESSED] * 3
    assert stack.counts() == (0, 0)


def test_a_failed_message_is_left_to_come_back_as_lambda_leaves_it(stack: Stack) -> None:
    stack.send("this is not an S3 event notification")
    good = stack.send_image()
    worker = stack.worker(visibility_seconds=600)
    worker.poll_once()
    assert worker.tally.__dict__ == {"processed": 1, "failed": 1, "released": 0}
    assert stack.status(good) is ImageStatus.PROCESSED
    assert stack.counts() == (0, 1)  # invisible until its visibility timeout, then again (the DLQ after N)


def test_messages_not_started_before_the_drain_ends_are_released_at_once(stack: Stack) -> None:
    items = [stack.send_image() for _ in range(4)]
    worker = stack.worker(drain_seconds=0)  # no time left for any image once stopping
    worker.stop()
    worker.poll_once()
    assert worker.tally.__dict__ == {"processed": 0, "failed": 0, "released": 4}
    assert stack.counts() == (4, 0)  # visible again now, not after the visibility timeout
    assert {stack.status(i) for i in items} == {ImageStatus.RECEIVED}


def test_the_message_in_hand_is_finished_when_it_fits_in_the_drain(stack: Stack) -> None:
    item = stack.send_image()
    worker = stack.worker(drain_seconds=100)
    worker.stop()  # SIGTERM arrived while the poll was waiting
    worker.poll_once()
    assert worker.tally.processed == 1 and stack.status(item) is ImageStatus.PROCESSED


def test_a_message_stays_invisible_while_a_slow_image_is_worked_on(stack: Stack) -> None:
    stack.send("slow")
    seen_meanwhile: list[int] = []

    def slow(record: Any) -> None:
        time.sleep(2.2)  # longer than the 1 s visibility: only the heartbeat keeps it hidden

    def second_worker_looks() -> None:
        time.sleep(1.6)
        found = stack.sqs.receive_message(QueueUrl=stack.queue_url, WaitTimeSeconds=0, VisibilityTimeout=0)
        seen_meanwhile.append(len(found.get("Messages", [])))

    worker = stack.module.Worker(
        stack.module.WorkerSettings(queue_url=stack.queue_url, wait_seconds=0, visibility_seconds=1),
        sqs=stack.sqs,
        handle=slow,
    )
    looking = threading.Thread(target=second_worker_looks)
    looking.start()
    worker.poll_once()
    looking.join()
    assert seen_meanwhile == [0] and worker.tally.processed == 1
    assert stack.counts() == (0, 0)


def test_run_polls_until_stopped_and_reports_what_it_did(stack: Stack) -> None:
    for _ in range(2):
        stack.send_image()
    worker = stack.worker()
    stopper = threading.Timer(0.8, worker.stop)
    stopper.start()
    tally = worker.run()
    assert tally.processed == 2 and stack.counts() == (0, 0)


def test_the_health_file_is_touched_on_every_poll(stack: Stack, tmp_path: Path) -> None:
    health = tmp_path / "healthy"
    worker = stack.worker(health_file=health)
    worker.poll_once()
    first = health.stat().st_mtime_ns
    time.sleep(0.01)
    worker.poll_once()
    assert health.stat().st_mtime_ns > first


def test_settings_come_from_the_environment_and_fail_at_start(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUEUE_URL", raising=False)
    with pytest.raises(ConfigError, match="QUEUE_URL"):
        stack.module.WorkerSettings.from_environment()
    monkeypatch.setenv("QUEUE_URL", stack.queue_url)
    monkeypatch.setenv("WORKER_BATCH_SIZE", "11")
    with pytest.raises(ConfigError, match="WORKER_BATCH_SIZE"):
        stack.module.WorkerSettings.from_environment()
    monkeypatch.setenv("WORKER_BATCH_SIZE", "5")
    monkeypatch.setenv("WORKER_HEALTH_FILE", "/tmp/healthy")
    settings = stack.module.WorkerSettings.from_environment()
    assert (settings.batch_size, settings.wait_seconds, settings.health_file) == (5, 20, Path("/tmp/healthy"))
