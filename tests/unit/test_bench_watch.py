"""The throughput bench's stopwatch and its start, against in-process moto: it reads when each image finished
from the item itself, for more images than one BatchGetItem holds, and gives up on one that never finishes at
its limit; it starts only once the processor's queues hold nothing from an earlier bench."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from scripts.cli import CliError
from scripts.dev.bench import _wait_for_empty_queues, _watch_until_final
from tests.stores import image_table

TABLE = "images"


def put(dynamodb: object, image_id: str, status: str, processed_at: datetime | None = None) -> None:
    item = {"image_id": {"S": image_id}, "status": {"S": status}, "renditions": {"M": {"thumb": {"S": "x" * 500}}}}
    if processed_at is not None:
        item["processed_at"] = {"S": processed_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    dynamodb.put_item(TableName=TABLE, Item=item)  # type: ignore[attr-defined]


def test_each_image_is_timed_by_its_own_transition_beyond_one_batch_of_keys(offline_aws: None) -> None:
    dynamodb = boto3.client("dynamodb")
    image_table(dynamodb, TABLE)
    ids = [f"img-{n:03d}" for n in range(130)]  # BatchGetItem takes 100 keys
    for image_id in ids:
        put(dynamodb, image_id, "QUEUED")
    finished_at = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

    def finish() -> None:
        time.sleep(0.4)  # the watcher has looked at least once and found nothing final
        for n, image_id in enumerate(ids[:-1]):
            put(dynamodb, image_id, "PROCESSED", finished_at + timedelta(milliseconds=n))
        put(dynamodb, ids[-1], "REJECTED")

    worker = threading.Thread(target=finish)
    before = datetime.now(UTC)
    worker.start()
    final = _watch_until_final(dynamodb, TABLE, ids, limit_s=30)
    worker.join()

    assert set(final) == set(ids)
    assert [final[i] for i in ids[:-1]] == [finished_at + timedelta(milliseconds=n) for n in range(129)]
    assert final[ids[-1]] > before  # a rejection has no processed_at: the time it was seen


def test_an_image_that_never_finishes_is_left_out_at_the_limit(offline_aws: None) -> None:
    dynamodb = boto3.client("dynamodb")
    image_table(dynamodb, TABLE)
    put(dynamodb, "done", "PROCESSED", datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    put(dynamodb, "stuck", "PROCESSING")

    started = time.perf_counter()
    final = _watch_until_final(dynamodb, TABLE, ["done", "stuck"], limit_s=1)

    assert list(final) == ["done"]
    assert 1 <= time.perf_counter() - started < 5


def test_the_burst_waits_for_an_earlier_backlog_and_says_so(
    offline_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = boto3.client("sqs")
    raw, workers = (sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("raw-events", "large-images"))
    for n in range(3):
        sqs.send_message(QueueUrl=raw, MessageBody=str(n))
    sqs.send_message(QueueUrl=workers, MessageBody="big")
    in_flight = sqs.receive_message(QueueUrl=workers)["Messages"][0]  # received, not yet deleted: still work

    def drain() -> None:
        time.sleep(1.5)
        while messages := sqs.receive_message(QueueUrl=raw, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                sqs.delete_message(QueueUrl=raw, ReceiptHandle=message["ReceiptHandle"])
        time.sleep(1)
        sqs.delete_message(QueueUrl=workers, ReceiptHandle=in_flight["ReceiptHandle"])

    worker = threading.Thread(target=drain)
    worker.start()
    started = time.perf_counter()
    _wait_for_empty_queues(sqs, [raw, workers], limit_s=60)
    waited = time.perf_counter() - started
    worker.join()

    assert waited >= 2.5  # not before the in-flight message was done
    assert "waiting for the worker's backlog: 4 messages" in capsys.readouterr().out


def test_a_backlog_that_never_drains_fails_the_bench_with_a_hint(offline_aws: None) -> None:
    sqs = boto3.client("sqs")
    raw = sqs.create_queue(QueueName="raw-events")["QueueUrl"]
    sqs.send_message(QueueUrl=raw, MessageBody="stuck")
    with pytest.raises(CliError, match=r"1 messages still queued .* is the local worker running"):
        _wait_for_empty_queues(sqs, [raw], limit_s=1)
