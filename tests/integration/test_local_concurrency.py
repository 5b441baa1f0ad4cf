"""The processor at the concurrency the local worker gives it, against the deployed stack: several batches at
once in their own execution environments, every S3 event delivered twice (SQS is at-least-once), and the worker
stopped by SIGTERM's drain in the middle of the backlog, then a new worker. Nothing is lost, nothing doubled:
one item per image, each PROCESSED, only the expected renditions, every version of a rendition the same bytes."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, Source
from scripts.local import stack
from scripts.local import worker as local_worker
from scripts.local.event_sources.sqs import POLL_WAIT_S
from scripts.local.lambda_host import FunctionHost
from tests.conftest import REPO_ROOT

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


# The local worker as a process of its own, with the processor's SQS mapping only (the Kafka and stream sources
# and the container tasks are other tests'), retrying as `make up` runs it: a failed message waits its visibility.
WORKER_PROCESS = """
import json, os, signal, subprocess, sys
from scripts.local import stack, worker
from scripts.local.lambda_host import FunctionHost
cfg = stack.StackConfig.from_env()
host = FunctionHost(stack.aws_client(cfg, "lambda"), cfg, output=subprocess.DEVNULL)
running = worker.build(cfg, outputs=json.loads(open(sys.argv[1]).read()), host=host)
running.kafka_pollers, running.stream_pollers, running.services = [], [], []
running.start()
print("polling", flush=True)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nobody reads on: a full pipe must never block the worker
signal.pause()
"""


def start_worker_process(local_stack: stack.StackConfig, outputs_file: Path) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    environ.update(
        IMGPIPE_RUN_DIR=str(local_stack.run_dir),
        IMGPIPE_MOTO_PORT=str(local_stack.moto_port),
        IMGPIPE_KAFKA_PORT=str(local_stack.kafka_port),
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "shared")]),
    )
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER_PROCESS, str(outputs_file)],
        cwd=REPO_ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: the worker and its execution environments
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "polling"
    return process


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.usefixtures("background_plans_finished")  # it shortens the queue's visibility timeout meanwhile
def test_a_worker_killed_mid_batch_leaves_its_messages_to_the_visibility_timeout_and_loses_nothing(
    deployed: dict[str, Any], local_stack: stack.StackConfig, tmp_path: Path
) -> None:
    """kill -9 of the worker's whole process group (no drain) while batches are in flight: the messages stay
    invisible until the queue's visibility timeout (as on AWS after a crash; shortened here to 20 s on the
    emulator's queue, 360 s as deployed), then a new worker processes every image once."""
    s3, sqs = stack.aws_client(local_stack, "s3"), stack.aws_client(local_stack, "sqs")
    table = MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])
    queue_url = deployed["raw_events_queue_url"]
    declared = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    visibility_s = 20
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": str(visibility_s)})
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps({k: v for k, v in deployed.items() if not k.startswith("_")}))
    images = []
    for n in range(8):
        image_id = new_image_id()
        item = ImageItem.new(image_id, Source.API, ImageStatus.RECEIVED, f"{deployed['raw_prefix']}{image_id}")
        table.put_new(item)
        s3.put_object(Bucket=deployed["raw_bucket_name"], Key=item.raw_key, Body=photo(n), ContentType="image/jpeg")
        images.append(image_id)

    def processed() -> int:
        return sum(1 for i in images if (found := table.get(i)) is not None and found.status is ImageStatus.PROCESSED)

    def in_flight() -> int:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessagesNotVisible"])

    second = None
    started_at = time.monotonic()  # no message can have been received before this
    first = start_worker_process(local_stack, outputs_file)
    try:
        wait_for(lambda: processed() >= 1 and in_flight() >= 1, "an image processed while others are in flight")
        os.killpg(first.pid, signal.SIGKILL)  # the chosen moment: mid-batch, no drain, no release
        killed_at = time.monotonic()
        first.wait(timeout=10)
        wait_for(lambda: group_is_gone(first.pid), "the worker's execution environments gone too", 10)
        stranded = in_flight()
        assert stranded >= 1 and processed() < len(images)
        wait_for(lambda: in_flight() == 0, "the stranded messages visible again", visibility_s + 10)
        visible_again_at = time.monotonic()
        waited = visible_again_at - killed_at
        # Held past the crash (stranded above), and visible again no sooner than the visibility timeout counted
        # from the earliest moment they could have been received: a crash releases nothing.
        assert visible_again_at - started_at >= visibility_s - 0.5, visible_again_at - started_at
        assert queue_depth(sqs, deployed["raw_events_dlq_url"]) == 0  # waiting is not failing
        second = start_worker_process(local_stack, outputs_file)
        wait_for(lambda: processed() == len(images), "every image processed by the next worker", 120)
        wait_for(lambda: queue_depth(sqs, queue_url) == 0, "every message deleted", 60)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        # The receives the killed worker left waiting on the emulator would hide the next test's S3 event.
        time.sleep(POLL_WAIT_S + 0.5)
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": declared["VisibilityTimeout"]})

    items = [table.get(image_id) for image_id in images]
    assert all(i is not None and i.status is ImageStatus.PROCESSED and i.renditions for i in items)
    listed = s3.list_object_versions(Bucket=deployed["processed_bucket_name"], Prefix=deployed["processed_prefix"])
    tags: dict[str, set[str]] = {}
    for version in listed.get("Versions", []):
        if version["Key"].split("/")[-2] in images:
            tags.setdefault(version["Key"], set()).add(version["ETag"])
    assert set(tags) == {r.key for i in items if i is not None for r in i.renditions.values()}
    assert all(len(etags) == 1 for etags in tags.values()), tags  # work redone after the crash wrote the same bytes
    assert queue_depth(sqs, deployed["raw_events_dlq_url"]) == 0
    print(f"{stranded} messages stranded by kill -9, visible again after {waited:.1f} s (visibility {visibility_s} s)")
