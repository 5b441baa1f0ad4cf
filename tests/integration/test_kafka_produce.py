"""The producer helper against the real embedded broker (Tansu) and the deployed raw bucket: what it sends is
exactly the documented message contract, read back by a real consumer."""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Message
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from PIL import Image

from scripts.local import stack
from scripts.ops.kafka_produce import Staging, send_file

pytestmark = pytest.mark.integration


def image_file(directory: Path, name: str, size: tuple[int, int], fmt: str) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 140, 90)).save(buffer, format=fmt)
    path = directory / name
    path.write_bytes(buffer.getvalue())
    return path


def test_inline_and_claim_check_records_follow_the_contract(
    local_stack: stack.StackConfig, deployed: dict[str, Any], tmp_path: Path
) -> None:
    from confluent_kafka import Producer

    topic = f"produce-{time.time_ns()}"
    admin = AdminClient({"bootstrap.servers": local_stack.kafka_bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        future.result(15)
    s3 = stack.aws_client(local_stack, "s3")
    staging = Staging(s3, deployed["raw_bucket_name"], "staging/", deployed["kms_key_arn"])
    small = image_file(tmp_path, "small.png", (40, 30), "PNG")
    large = image_file(tmp_path, "large.jpg", (600, 400), "JPEG")
    producer = Producer({"bootstrap.servers": local_stack.kafka_bootstrap, "acks": "all"})

    sent = [
        send_file(producer, topic, small, staging=staging, max_inline_bytes=10_000, source_id="cam-1"),
        send_file(producer, topic, large, staging=staging, claim_check="always", source_id="cam-1"),
    ]
    assert producer.flush(15) == 0
    assert [s.mode for s in sent] == ["inline", "claim-check"]

    consumer = Consumer(
        {
            "bootstrap.servers": local_stack.kafka_bootstrap,
            "group.id": f"check-{topic}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + 30
    while len(messages) < 2 and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            messages.append(message)
    consumer.close()
    assert len(messages) == 2

    inline, reference = messages
    pairs: list[tuple[str, bytes]] = list(inline.headers() or [])  # type: ignore[arg-type]  # produced as a list
    inline_headers = {name: value.decode() for name, value in pairs}
    assert inline.value() == small.read_bytes()
    assert inline_headers == {
        "content-type": "image/png",
        "filename": "small.png",
        "idempotency-key": f"sha256:{hashlib.sha256(small.read_bytes()).hexdigest()}",
        "source-id": "cam-1",
    }
    envelope = json.loads(reference.value() or b"")
    assert envelope["content_type"] == "image/jpeg" and envelope["filename"] == "large.jpg"
    bucket, _, key = envelope["s3_uri"].removeprefix("s3://").partition("/")
    assert bucket == deployed["raw_bucket_name"] and key.startswith("staging/cam-1/")
    staged = s3.get_object(Bucket=bucket, Key=key)
    assert staged["Body"].read() == large.read_bytes() and staged["SSEKMSKeyId"] == deployed["kms_key_arn"]
    s3.delete_object(Bucket=bucket, Key=key)
