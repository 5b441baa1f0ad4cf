"""The processing path on the local stack: uploads through the deployed API (local gateway, HTTP), S3 events in
the emulator's real queue, the local worker running the event source mapping Terraform deployed, the real
handler, renditions in the real processed bucket. The worker is driven poll by poll (no background thread), so
every test decides when deliveries happen."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.models import ImageStatus
from scripts.local import stack
from scripts.local import worker as local_worker
from scripts.local.event_sources.sqs import SqsPoller
from scripts.local.events import s3_object_created
from scripts.local.lambda_host import FunctionHost
from tests import sigv4
from tests.faulty_endpoint import faulty_endpoint
from tests.imaging import photo_with_exif
from tests.integration.conftest import drain_until

pytestmark = pytest.mark.integration


@pytest.fixture
def s3(local_stack: stack.StackConfig) -> Any:
    return stack.aws_client(local_stack, "s3")


@pytest.fixture
def table(deployed: dict[str, Any], local_stack: stack.StackConfig) -> MetadataTable:
    return MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])


def status_is(table: MetadataTable, image_id: str, status: ImageStatus) -> Callable[[], bool]:
    def check() -> bool:
        item = table.get(image_id)
        return item is not None and item.status is status

    return check


def put_image(base_url: str, key: str, data: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
    answer = requests.put(
        f"{base_url}/v1/images",
        params={"filename": "photo.jpg"},
        data=data,
        headers={"x-api-key": key, "Content-Type": content_type},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def versions(s3: Any, bucket: str, prefix: str) -> dict[str, int]:
    listing = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
    counts: dict[str, int] = {}
    for version in listing.get("Versions", []):
        counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts


def test_the_deployed_event_source_mapping_is_what_the_worker_runs(worker: SqsPoller, deployed: dict[str, Any]) -> None:
    mapping = worker.mapping
    assert mapping.function_name == deployed["processor_function_name"]
    assert mapping.queue_arn == deployed["raw_events_queue_arn"]
    assert (mapping.batch_size, mapping.batching_window_s, mapping.report_batch_item_failures) == (5, 1, True)
    assert mapping.state.lower() == "disabled"  # envs/local: moto must not try to run it through Docker


def test_an_upload_through_the_api_is_processed_and_its_links_download(
    base_url: str,
    keys: dict[str, str],
    worker: SqsPoller,
    table: MetadataTable,
    s3: Any,
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
) -> None:
    created = put_image(base_url, keys["good"], photo_with_exif(orientation=6, image=Image.new("RGB", (1800, 1200))))

    drain_until(worker, status_is(table, created["image_id"], ImageStatus.PROCESSED), "processed")

    answer = requests.get(
        f"{base_url}/v1/images/{created['image_id']}", headers={"x-api-key": keys["good"]}, timeout=30
    )
    body = answer.json()
    assert body["status"] == "PROCESSED" and body["camera"]["orientation"] == 6
    assert set(body["links"]) == set(body["renditions"]) == {"large", "medium", "thumb", "large_webp"}
    env = local_stack.client_env()
    for name, link in body["links"].items():
        record = body["renditions"][name]
        # Signed as AWS requires (the emulator would serve a wrong signature too), for exactly this object.
        signed = sigv4.verify_presigned_url(
            link, env["AWS_SECRET_ACCESS_KEY"], now=datetime.now(UTC), region=env["AWS_DEFAULT_REGION"]
        )
        assert signed.bucket_key == f"{deployed['processed_bucket_name']}/{record['key']}"
        downloaded = requests.get(link, timeout=30)
        assert downloaded.status_code == 200
        with Image.open(io.BytesIO(downloaded.content)) as image:
            # Stored on its side (orientation 6): the renditions are upright again, 3:2 landscape.
            assert image.size == (record["width"], record["height"]) and image.width > image.height
            assert str(image.format).lower() == record["format"] and "exif" not in image.info
        head = s3.head_object(Bucket=deployed["processed_bucket_name"], Key=record["key"])
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == deployed["kms_key_arn"]

    # The listing carries the same links (a gallery needs no request per image), signed for the same objects.
    listed = requests.get(
        f"{base_url}/v1/images", params={"status": "PROCESSED", "limit": "100"},
        headers={"x-api-key": keys["good"]}, timeout=30,
    ).json()  # fmt: skip
    [item] = [i for i in listed["items"] if i["image_id"] == created["image_id"]]
    assert set(item["links"]) == set(body["links"])
    for name, link in item["links"].items():
        signed = sigv4.verify_presigned_url(
            link, env["AWS_SECRET_ACCESS_KEY"], now=datetime.now(UTC), region=env["AWS_DEFAULT_REGION"]
        )
        assert signed.bucket_key == f"{deployed['processed_bucket_name']}/{body['renditions'][name]['key']}"


def test_the_same_message_delivered_twice_writes_one_set_of_outputs(
    base_url: str,
    keys: dict[str, str],
    worker: SqsPoller,
    table: MetadataTable,
    s3: Any,
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
) -> None:
    created = put_image(base_url, keys["good"], photo_with_exif(orientation=1))
    raw_key = table.get(created["image_id"]).raw_key  # type: ignore[union-attr]
    duplicate = json.dumps(s3_object_created(deployed["raw_bucket_name"], raw_key, 1))
    sqs = stack.aws_client(local_stack, "sqs")
    for _ in range(2):  # on top of the notification S3 itself sent
        sqs.send_message(QueueUrl=deployed["raw_events_queue_url"], MessageBody=duplicate)

    drain_until(worker, status_is(table, created["image_id"], ImageStatus.PROCESSED), "processed")
    first = table.get(created["image_id"])
    drain_until(worker, lambda: _queue_empty(sqs, deployed["raw_events_queue_url"]), "drained")

    assert table.get(created["image_id"]) == first  # no second status change
    prefix = f"{deployed['processed_prefix']}{created['tenant_id']}/{created['image_id']}/"
    outputs = versions(s3, deployed["processed_bucket_name"], prefix)
    assert len(outputs) == 4 and set(outputs.values()) == {1}


def test_a_failure_between_writes_is_retried_to_a_consistent_result(
    base_url: str,
    keys: dict[str, str],
    table: MetadataTable,
    s3: Any,
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
) -> None:
    """The processor's write of PROCESSED fails once, after it wrote the renditions: the fault is injected at its
    DynamoDB endpoint (it runs in a process of its own), everything else is real. The retry finishes the image
    with the same rendition keys."""

    def processed_write(headers: dict[str, str], body: bytes) -> bool:
        return headers.get("x-amz-target", "").endswith(".UpdateItem") and b'"PROCESSED"' in body

    with faulty_endpoint(local_stack.aws_endpoint, processed_write) as (url, fault):
        overrides = {"AWS_ENDPOINT_URL_DYNAMODB": url}
        host = FunctionHost(stack.aws_client(local_stack, "lambda"), local_stack, environment=overrides)
        try:
            worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed, host=host).pollers[0]
            fault.failing.set()
            created = put_image(base_url, keys["good"], photo_with_exif(orientation=3))
            drain_until(worker, lambda: bool(fault.failed), "the PROCESSED write failed")
            fault.failing.clear()
            assert status_is(table, created["image_id"], ImageStatus.PROCESSING)()  # renditions written, not done
            drain_until(worker, status_is(table, created["image_id"], ImageStatus.PROCESSED), "processed after it")
        finally:
            host.close()

    assert len(fault.failed) == 1 and worker.stats.failed >= 1
    item = table.get(created["image_id"])
    assert item is not None
    prefix = f"{deployed['processed_prefix']}{created['tenant_id']}/{created['image_id']}/"
    stored = versions(s3, deployed["processed_bucket_name"], prefix)
    assert set(stored) == {r.key for r in item.renditions.values()}  # same keys, whatever the attempt


def test_hostile_bytes_behind_a_presigned_post_are_rejected_with_no_outputs(
    base_url: str,
    keys: dict[str, str],
    worker: SqsPoller,
    table: MetadataTable,
    s3: Any,
    deployed: dict[str, Any],
) -> None:
    hostile = b"\x89PNG\r\n\x1a\n" + b"<?php system($_GET['c']); ?>" * 40  # PNG magic, then a web shell
    answer = requests.post(
        f"{base_url}/v1/uploads",
        json={"filename": "shell.png", "content_type": "image/png", "size_bytes": len(hostile)},
        headers={"x-api-key": keys["good"]},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    upload = created["upload"]
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("shell.png", hostile)}, timeout=30)
    assert sent.status_code in (200, 201, 204), sent.text

    drain_until(worker, status_is(table, created["image_id"], ImageStatus.REJECTED), "rejected")

    item = table.get(created["image_id"])
    assert item is not None and item.reject_reason in ("corrupt", "truncated", "polyglot")
    assert versions(s3, deployed["raw_bucket_name"], upload["fields"]["key"]) == {}
    assert (
        versions(s3, deployed["processed_bucket_name"], f"{deployed['processed_prefix']}{created['image_id']}/") == {}
    )


def test_a_poison_message_is_dead_lettered_after_max_receive_count(
    worker: SqsPoller, deployed: dict[str, Any], local_stack: stack.StackConfig
) -> None:
    sqs = stack.aws_client(local_stack, "sqs")
    marker = f"poison-{time.time_ns()}"
    sqs.send_message(QueueUrl=deployed["raw_events_queue_url"], MessageBody=marker)
    failures_before = worker.stats.failed
    dead: list[dict[str, Any]] = []

    def dead_lettered() -> bool:
        got = sqs.receive_message(
            QueueUrl=deployed["raw_events_dlq_url"],
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            AttributeNames=["All"],
        ).get("Messages", [])
        dead.extend(m for m in got if m["Body"] == marker)
        return bool(dead)

    drain_until(worker, dead_lettered, "dead-lettered")

    assert int(dead[0]["Attributes"]["ApproximateReceiveCount"]) >= 5  # maxReceiveCount of module storage
    assert worker.stats.failed - failures_before >= 5


def _queue_empty(sqs: Any, url: str) -> bool:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 0
    )


def test_a_presigned_form_used_again_after_processing_does_not_replace_the_image(
    base_url: str,
    keys: dict[str, str],
    worker: SqsPoller,
    table: MetadataTable,
    s3: Any,
    deployed: dict[str, Any],
) -> None:
    first = photo_with_exif(orientation=1, gps=False)
    answer = requests.post(
        f"{base_url}/v1/uploads",
        json={"filename": "once.jpg", "content_type": "image/jpeg", "size_bytes": len(first)},
        headers={"x-api-key": keys["good"]},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    created, form = answer.json(), answer.json()["upload"]

    def send(data: bytes) -> None:
        sent = requests.post(form["url"], data=form["fields"], files={"file": ("once.jpg", data)}, timeout=30)
        assert sent.status_code in (200, 201, 204), sent.text

    send(first)
    drain_until(worker, status_is(table, created["image_id"], ImageStatus.PROCESSED), "processed")
    processed = table.get(created["image_id"])
    assert processed is not None and processed.raw_version

    # The form has not expired: other bytes (of the size the form allows) under the same key, after processing.
    send(first[:-300] + bytes(b ^ 0x55 for b in first[-300:-2]) + first[-2:])
    raw = deployed["raw_bucket_name"]

    def only_the_first_version_left() -> bool:
        listed = s3.list_object_versions(Bucket=raw, Prefix=form["fields"]["key"]).get("Versions", [])
        return [v["VersionId"] for v in listed] == [processed.raw_version]

    drain_until(worker, only_the_first_version_left, "the later version deleted")
    body = s3.get_object(Bucket=raw, Key=form["fields"]["key"])["Body"].read()
    assert body == first
    assert table.get(created["image_id"]) == processed  # the image and its metadata untouched
