"""The throughput bench's stopwatch (scripts.dev.bench._watch_until_final), against in-process moto: it reads
when each image finished from the item itself, for more images than one BatchGetItem holds, and gives up on
one that never finishes at its limit."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import boto3

from scripts.dev.bench import _watch_until_final
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
