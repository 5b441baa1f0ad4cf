"""Produce and consume through the embedded Tansu broker with a consumer group (confluent-kafka)."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]  # re-exported from cimpl

from scripts.local import stack

pytestmark = pytest.mark.integration


def consume(bootstrap: str, topic: str, group: str, expected: int, timeout_s: float = 30) -> tuple[list[bytes], int]:
    """Reads up to `expected` values, committing each; returns them and the group's committed total."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",  # Tansu reports the high watermark wrong; start from committed offsets
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,  # JoinGroup waits half of it on Tansu
        }
    )
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.time() + timeout_s
    try:
        while len(values) < expected and time.time() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            values.append(message.value() or b"")
            consumer.commit(message=message, asynchronous=False)
        committed = consumer.committed([TopicPartition(topic, p) for p in range(2)], timeout=10)
    finally:
        consumer.close()
    return values, sum(max(tp.offset, 0) for tp in committed)


def test_produce_and_group_consume_resumes_from_committed_offsets(local_stack: stack.StackConfig) -> None:
    bootstrap = local_stack.kafka_bootstrap
    topic = f"images-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(timeout=10)

    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(6):
        producer.produce(topic, key=f"k{i}".encode(), value=f"image-{i}".encode(), partition=i % 2)
    assert producer.flush(10) == 0

    group = f"g-{uuid.uuid4().hex[:8]}"
    first, committed = consume(bootstrap, topic, group, expected=6)
    assert sorted(first) == [f"image-{i}".encode() for i in range(6)]
    assert committed == 6

    producer.produce(topic, value=b"image-late", partition=0)
    assert producer.flush(10) == 0
    # Same group again: only what arrived after the commit is delivered.
    assert consume(bootstrap, topic, group, expected=1) == ([b"image-late"], 7)
