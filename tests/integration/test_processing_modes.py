"""The split processing mode as envs/local deploys it: small images are processed by the function (run by the
local worker's SQS poller), objects of 4 MiB or more, and smaller ones whose header states 24 MP or more, are
passed on to the large-image queue and processed by the container workers' ECS service, whose tasks run as
processes of their own (scripts/local/ecs_tasks.py) with the task definition Terraform made. Stopping the service
in the middle of a backlog (SIGTERM, as a Spot interruption or a scale-in sends) loses nothing and processes
nothing twice."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, Source
from scripts.local import gateway as local_gateway
from scripts.local import stack
from scripts.local import worker as local_worker
from scripts.local.ecs_tasks import LocalService
from scripts.local.lambda_host import FunctionHost
from tests.integration.conftest import serving

pytestmark = pytest.mark.integration
LARGE = 4 * 1024 * 1024


def noise_png(width: int = 1300, height: int = 1200) -> bytes:
    """A PNG that random pixels keep over 4 MiB (they do not compress)."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, format="PNG")
    data = buffer.getvalue()
    assert len(data) >= LARGE
    return data


def flat_png(width: int, height: int) -> bytes:
    """Many pixels in few bytes: one colour compresses to almost nothing."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(buffer, format="PNG")
    data = buffer.getvalue()
    assert len(data) < LARGE
    return data


def small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


class Background:
    """The local worker as `make up` runs it: the SQS poller (the function) and the ECS service (the tasks)."""

    def __init__(self, found: local_worker.Worker):
        self.found = found
        self.poll_stop, self.service_stop = threading.Event(), threading.Event()
        self.threads = [
            threading.Thread(target=p.run_forever, args=(self.poll_stop,), daemon=True) for p in found.pollers
        ]
        self.service_thread = self._service_thread()
        for thread in self.threads:
            thread.start()

    @property
    def service(self) -> LocalService:
        return self.found.services[0]

    def _service_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.service.run_forever, args=(self.service_stop,))
        thread.start()
        return thread

    def stop_service(self) -> None:
        self.service_stop.set()
        self.service_thread.join(timeout=130)
        assert not self.service_thread.is_alive()

    def restart_service(self) -> None:
        self.service_stop = threading.Event()
        self.service_thread = self._service_thread()

    def close(self) -> None:
        self.poll_stop.set()
        self.stop_service()


@pytest.fixture(scope="module")
def api(deployed: dict[str, Any], local_stack: stack.StackConfig, host: FunctionHost) -> Iterator[str]:
    """The API on a free port, its functions in the same host as the worker's (conftest `host`)."""
    with serving(local_gateway.build(local_stack, deployed, host=host)) as url:
        yield url


@pytest.fixture(scope="module")
def background(deployed: dict[str, Any], local_stack: stack.StackConfig, host: FunctionHost) -> Iterator[Background]:
    found = local_worker.build(local_stack, retry_seconds=0, outputs=deployed, host=host)
    assert [s.spec.service for s in found.services] == ["imgpipe-local-workers"], "envs/local deploys split"
    assert found.services[0].spec.desired_count == 2
    running = Background(found)
    yield running
    running.close()


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {timeout_s} s"
        time.sleep(0.3)


def task_logs(service: LocalService) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(service.log_dir.glob("worker-task-*.log")))


def queue_depth(local_stack: stack.StackConfig, name: str) -> int:
    sqs = stack.aws_client(local_stack, "sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_small_images_go_to_the_function_and_large_ones_to_the_container_workers(
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
    api: str,
    keys: dict[str, str],
    background: Background,
) -> None:
    assert deployed["processing"]["mode"] == "split" and deployed["processing"]["large_image_min_bytes"] == LARGE
    assert deployed["processing"]["large_image_min_pixels"] == 24_000_000
    table = MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])
    uploaded = {}
    for name, data, kind in (
        ("small.jpg", small_jpeg(), "image/jpeg"),
        ("large.png", noise_png(), "image/png"),
        ("many-pixels.png", flat_png(5000, 4800), "image/png"),  # 24 MP in a few hundred KB
    ):
        answer = requests.post(
            f"{api}/v1/uploads",
            json={"filename": name, "content_type": kind, "size_bytes": len(data)},
            headers={"x-api-key": keys["good"]},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        form = answer.json()["upload"]
        sent = requests.post(form["url"], data=form["fields"], files={"file": (name, data)}, timeout=60)
        assert sent.status_code in (200, 201, 204), sent.text
        uploaded[name] = answer.json()["image_id"]

    def all_processed() -> bool:
        items = [table.get(image_id) for image_id in uploaded.values()]
        return all(i is not None and i.status is ImageStatus.PROCESSED for i in items)

    wait_for(all_processed, "all three processed")
    handled = [f'"image_id":"{uploaded[name]}","outcome":"processed"' for name in ("large.png", "many-pixels.png")]
    # A task writes its "object handled" line just after the item's status: on a busy machine the status can be
    # read first. The line of an image the function processed never comes, and the wait fails.
    wait_for(lambda: all(line in task_logs(background.service) for line in handled), "the tasks' lines", 30)
    logs = task_logs(background.service)
    # The tasks' own logs: the large images were handled there (one line each), the small one never reached them.
    assert [logs.count(line) for line in handled] == [1, 1], logs[-2000:]
    assert uploaded["small.jpg"] not in logs
    large = table.get(uploaded["large.png"])
    assert large is not None and (large.width, large.height) == (1300, 1200)
    assert queue_depth(local_stack, "imgpipe-local-large-images") == 0
    assert queue_depth(local_stack, "imgpipe-local-large-images-dlq") == 0


def test_a_sigterm_to_the_service_mid_backlog_loses_and_doubles_nothing(
    deployed: dict[str, Any], local_stack: stack.StackConfig, background: Background
) -> None:
    s3 = stack.aws_client(local_stack, "s3")
    table = MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])
    raw_bucket, processed_bucket = deployed["raw_bucket_name"], deployed["processed_bucket_name"]
    images = []
    for _ in range(8):
        image_id = new_image_id()
        item = ImageItem.new(image_id, Source.API, ImageStatus.RECEIVED, f"{deployed['raw_prefix']}{image_id}")
        table.put_new(item)
        # S3's own notification (the bucket's, in the emulator) carries the size: the function passes it on.
        s3.put_object(Bucket=raw_bucket, Key=item.raw_key, Body=noise_png(1250, 1200))
        images.append(image_id)

    def processed() -> list[str]:
        found = [table.get(i) for i in images]
        return [f.image_id for f in found if f is not None and f.status is ImageStatus.PROCESSED]

    wait_for(lambda: len(processed()) >= 2, "the first images processed")
    tallies_before = task_logs(background.service).count('{"stopped"')
    background.stop_service()  # SIGTERM to every task, as ECS sends it; they drain and exit
    assert background.service.stats.exited and set(background.service.stats.exited) == {0}
    # Each task drained: it finished or released what it held, and said so.
    assert task_logs(background.service).count('{"stopped"') == tallies_before + 2
    background.restart_service()
    wait_for(lambda: len(processed()) == len(images), "every image processed after the restart")

    # Nothing doubled: every rendition of every image was written once (the processed bucket keeps versions).
    listed = s3.list_object_versions(Bucket=processed_bucket, Prefix=deployed["processed_prefix"])
    versions: dict[str, int] = {}
    for version in listed.get("Versions", []):
        image_id = version["Key"].split("/")[-2]
        if image_id in images:
            versions[version["Key"]] = versions.get(version["Key"], 0) + 1
    assert versions and set(versions.values()) == {1}, versions
    assert {k.split("/")[-2] for k in versions} == set(images)
    wait_for(lambda: queue_depth(local_stack, "imgpipe-local-large-images") == 0, "the queue empty")
    assert queue_depth(local_stack, "imgpipe-local-large-images-dlq") == 0
