"""The container worker as a process — `python -m worker` in the function's package unpacked as its Dockerfile
unpacks it (tests/container.py), as the container runs it — against the emulator: SIGTERM in the middle of a
backlog loses nothing and doubles nothing — what it had finished is processed once, what it had not started is
visible again at once (not after the visibility timeout), and a second worker finishes the rest."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, Source
from scripts.local import stack
from scripts.local.events import s3_object_created
from tests.container import unpack
from tests.stores import image_table, processor_environment, versioned_buckets

pytestmark = pytest.mark.integration
IMAGES = 24


@pytest.fixture(scope="module")
def stores(local_stack: stack.StackConfig) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    names = {"raw": f"worker-raw-{run}", "processed": f"worker-processed-{run}", "table": f"worker-images-{run}"}
    s3 = stack.aws_client(local_stack, "s3")
    versioned_buckets(s3, names["raw"], names["processed"])
    image_table(stack.aws_client(local_stack, "dynamodb"), names["table"])
    names["queue_url"] = stack.aws_client(local_stack, "sqs").create_queue(QueueName=f"worker-raw-events-{run}")[
        "QueueUrl"
    ]
    names["kms_key_arn"] = stack.aws_client(local_stack, "kms").create_key()["KeyMetadata"]["Arn"]
    return names


def worker_env(local_stack: stack.StackConfig, stores: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **local_stack.client_env(),
        "PYTHONPATH": "",  # the package's own imgpipe, not the checkout's
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "imgpipe",
        "POWERTOOLS_SERVICE_NAME": "image_processor",
        "QUEUE_URL": stores["queue_url"],
        **processor_environment(stores["raw"], stores["processed"], stores["table"], stores["kms_key_arn"]),
        "WORKER_WAIT_SECONDS": "1",
        **extra,
    }


@pytest.fixture(scope="module")
def backlog(local_stack: stack.StackConfig, stores: dict[str, str]) -> list[ImageItem]:
    table = MetadataTable(stack.aws_client(local_stack, "dynamodb"), stores["table"])
    s3, sqs = stack.aws_client(local_stack, "s3"), stack.aws_client(local_stack, "sqs")
    items = []
    for n in range(IMAGES):
        image_id = new_image_id()
        item = ImageItem.new(image_id, Source.API, ImageStatus.RECEIVED, f"raw/{image_id}")
        table.put_new(item)
        buffer = io.BytesIO()
        Image.new("RGB", (1200, 900), (n * 10 % 255, 90, 160)).save(buffer, format="PNG")
        s3.put_object(Bucket=stores["raw"], Key=item.raw_key, Body=buffer.getvalue())
        body = s3_object_created(stores["raw"], item.raw_key, len(buffer.getvalue()))
        sqs.send_message(QueueUrl=stores["queue_url"], MessageBody=json.dumps(body))
        items.append(item)
    return items


@pytest.fixture(scope="module")
def image_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's /opt/worker: the Lambda package, extracted by the Dockerfile's own command."""
    return unpack(tmp_path_factory.mktemp("image"))


def start(
    local_stack: stack.StackConfig, stores: dict[str, str], image_files: Path, **extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "worker"],
        cwd=image_files,
        env=worker_env(local_stack, stores, **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def statuses(local_stack: stack.StackConfig, stores: dict[str, str], items: list[ImageItem]) -> list[ImageStatus]:
    table = MetadataTable(stack.aws_client(local_stack, "dynamodb"), stores["table"])
    found = [table.get(i.image_id) for i in items]
    return [f.status for f in found if f is not None]


def queue_counts(local_stack: stack.StackConfig, stores: dict[str, str]) -> tuple[int, int]:
    attributes = stack.aws_client(local_stack, "sqs").get_queue_attributes(
        QueueUrl=stores["queue_url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def renditions_per_image(local_stack: stack.StackConfig, stores: dict[str, str]) -> dict[str, int]:
    listed = stack.aws_client(local_stack, "s3").list_object_versions(Bucket=stores["processed"])
    counts: dict[str, int] = {}
    for version in listed.get("Versions", []):
        image_id = version["Key"].split("/")[-2]
        counts[image_id] = counts.get(image_id, 0) + 1
    return counts


def stop(worker: subprocess.Popen[str]) -> dict[str, Any]:
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 0, stderr
    last = [line for line in stderr.splitlines() if line.startswith('{"stopped"')]
    assert last, stderr
    tally: dict[str, Any] = json.loads(last[-1])["stopped"]
    return tally


def wait_for(condition: Any, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {timeout_s} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def first_run(
    local_stack: stack.StackConfig, stores: dict[str, str], backlog: list[ImageItem], image_files: Path
) -> Iterator[dict[str, Any]]:
    # No drain time: on SIGTERM the image in hand is finished, every other message received is released.
    worker = start(local_stack, stores, image_files, WORKER_DRAIN_SECONDS="0")
    try:
        wait_for(lambda: ImageStatus.PROCESSED in statuses(local_stack, stores, backlog), "an image processed")
        yield stop(worker)
    finally:
        if worker.poll() is None:
            worker.kill()


def test_sigterm_mid_backlog_loses_nothing_and_doubles_nothing(
    local_stack: stack.StackConfig,
    stores: dict[str, str],
    backlog: list[ImageItem],
    first_run: dict[str, Any],
    image_files: Path,
) -> None:
    done = statuses(local_stack, stores, backlog).count(ImageStatus.PROCESSED)
    assert 1 <= done < IMAGES and first_run["processed"] == done and first_run["failed"] == 0
    visible, in_flight = queue_counts(local_stack, stores)
    assert in_flight == 0  # nothing waits out a visibility timeout: what was not finished was released
    assert visible == IMAGES - done
    assert set(renditions_per_image(local_stack, stores).values()) == {1}

    second = start(local_stack, stores, image_files)  # another task takes over the backlog
    try:
        wait_for(lambda: statuses(local_stack, stores, backlog).count(ImageStatus.PROCESSED) == IMAGES, "all processed")
        tally = stop(second)
    finally:
        if second.poll() is None:
            second.kill()
    assert tally["processed"] == IMAGES - done
    assert queue_counts(local_stack, stores) == (0, 0)
    per_image = renditions_per_image(local_stack, stores)
    assert len(per_image) == IMAGES and set(per_image.values()) == {1}  # each image processed exactly once
