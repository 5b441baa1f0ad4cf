"""The local event-source worker's SQS poller against in-process moto SQS: batching, partial failures, retries,
and dead-lettering through the queue's own redrive policy."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scripts.local.event_sources.sqs import SqsMapping, SqsPoller
from scripts.local.lambda_host import DeployedFunction
from scripts.local.worker import Worker, sqs_concurrency


class RecordingHost:
    """Stands in for FunctionHost: records the events and answers what the test scripts."""

    def __init__(self, answer: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.answer = answer

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer(event) if callable(self.answer) else self.answer


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("sqs")


def queues(sqs: Any, max_receive_count: int = 3) -> tuple[str, str, str]:
    dlq_url = sqs.create_queue(QueueName="events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName="events",
        Attributes={
            "VisibilityTimeout": "360",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq_url


def poller(sqs: Any, host: RecordingHost, batch_size: int = 5, partial: bool = True) -> SqsPoller:
    url, arn, _ = queues(sqs)
    mapping = SqsMapping("uuid-1", "fn", arn, url, batch_size, 0, partial, "Disabled")
    return SqsPoller(mapping, host, sqs, retry_seconds=0, log=lambda _m: None)  # type: ignore[arg-type]


def send(sqs: Any, url: str, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)


def visible(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_batches_are_sqs_shaped_and_bounded_by_the_batch_size(sqs: Any) -> None:
    host = RecordingHost({"batchItemFailures": []})
    worker = poller(sqs, host, batch_size=3)
    send(sqs, worker.mapping.queue_url, *[f"body-{n}" for n in range(5)])

    assert worker.poll_once(wait_s=0) == 3
    assert worker.poll_once(wait_s=0) == 2

    records = host.events[0]["Records"]
    assert len(records) == 3
    assert {r["eventSource"] for r in records} == {"aws:sqs"}
    assert {r["eventSourceARN"] for r in records} == {worker.mapping.queue_arn}
    assert all(r["messageId"] and r["receiptHandle"] and r["attributes"]["ApproximateReceiveCount"] for r in records)
    assert visible(sqs, worker.mapping.queue_url) == 0
    assert worker.stats.succeeded == 5 and worker.stats.failed == 0


def test_only_reported_failures_come_back(sqs: Any) -> None:
    def fail_odd(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in ("one", "three")
            ]
        }

    host = RecordingHost(fail_odd)
    worker = poller(sqs, host, batch_size=10)
    send(sqs, worker.mapping.queue_url, "zero", "one", "two", "three")

    assert worker.poll_once(wait_s=0) == 4
    assert worker.stats.failed == 2
    again = sqs.receive_message(QueueUrl=worker.mapping.queue_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in again) == ["one", "three"]


def test_an_unknown_failure_identifier_fails_the_whole_batch(sqs: Any) -> None:
    host = RecordingHost({"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]})
    worker = poller(sqs, host)
    send(sqs, worker.mapping.queue_url, "a", "b")

    assert worker.poll_once(wait_s=0) == 2
    assert worker.stats.failed == 2 and visible(sqs, worker.mapping.queue_url) == 2


def test_without_partial_failure_reporting_a_returned_list_is_ignored(sqs: Any) -> None:
    host = RecordingHost({"batchItemFailures": [{"itemIdentifier": "x"}]})
    worker = poller(sqs, host, partial=False)
    send(sqs, worker.mapping.queue_url, "a")
    worker.poll_once(wait_s=0)
    assert worker.stats.succeeded == 1 and visible(sqs, worker.mapping.queue_url) == 0


def test_a_message_that_keeps_failing_is_dead_lettered_by_the_redrive_policy(sqs: Any) -> None:
    host = RecordingHost(RuntimeError("the function raised"))
    worker = poller(sqs, host)
    dlq_url = sqs.get_queue_url(QueueName="events-dlq")["QueueUrl"]
    send(sqs, worker.mapping.queue_url, "poison")

    deliveries = 0
    for _ in range(10):
        deliveries += worker.poll_once(wait_s=0)

    assert deliveries == 3  # maxReceiveCount
    assert worker.stats.last_error == "RuntimeError: the function raised"
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]
    assert visible(sqs, worker.mapping.queue_url) == 0


@pytest.mark.parametrize(
    ("maximum_concurrency", "function_concurrency", "expected"),
    [(None, 10, 5), (2, 10, 2), (None, 1, 1), (1000, 3, 3), (20, 10, 5)],
)
def test_a_mapping_runs_as_many_batches_as_lambda_would_start(
    maximum_concurrency: int | None, function_concurrency: int, expected: int
) -> None:
    mapping = SqsMapping("uuid-1", "fn", "arn", "url", 10, 0, True, "Disabled", maximum_concurrency)
    function = DeployedFunction("fn", "f", "handler", "handler", {}, "arn", 128, 3.0, function_concurrency)
    assert sqs_concurrency(mapping, function) == expected


def two_at_once(sqs: Any, host: RecordingHost) -> tuple[SqsPoller, str]:
    """A poller of one-message batches, two at once, and its queue's URL."""
    url, arn, _ = queues(sqs)
    mapping = SqsMapping("uuid-1", "fn", arn, url, 1, 0, True, "Disabled")
    return SqsPoller(mapping, host, sqs, retry_seconds=0, log=lambda _m: None, concurrency=2), url  # type: ignore[arg-type]


def test_the_worker_runs_a_mapping_s_batches_at_once(sqs: Any) -> None:
    """Two one-message batches must be in the function together to pass the barrier."""
    together = threading.Barrier(2, timeout=10)

    def meet(event: dict[str, Any]) -> dict[str, Any]:
        together.wait()
        return {"batchItemFailures": []}

    source, url = two_at_once(sqs, RecordingHost(meet))
    send(sqs, url, "a", "b")
    worker = Worker([source])
    threads = worker.start()
    deadline = time.monotonic() + 20
    while source.stats.succeeded < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(threads) == 2 and source.stats.succeeded == 2 and not together.broken


def test_a_stopping_worker_finishes_quick_batches_and_releases_slow_ones(sqs: Any) -> None:
    """SIGTERM's drain: a batch that ends within the drain is settled as usual; one that does not is made
    visible at once, not after the queue's 360 s visibility timeout."""
    release = threading.Event()
    running: list[str] = []

    def work(event: dict[str, Any]) -> dict[str, Any]:
        running.append(event["Records"][0]["body"])
        if event["Records"][0]["body"] == "slow":
            release.wait(30)
        return {"batchItemFailures": []}

    source, url = two_at_once(sqs, RecordingHost(work))
    send(sqs, url, "slow", "quick")
    worker = Worker([source])
    worker.start()
    deadline = time.monotonic() + 20
    while not (len(running) == 2 and source.stats.succeeded == 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(running) == ["quick", "slow"] and source.stats.succeeded == 1

    assert worker.drain(timeout_s=0.5) == 1
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in again] == ["slow"]  # visible now; "quick" was deleted
    release.set()


def test_without_the_local_shortcut_a_failed_message_waits_its_visibility_timeout(sqs: Any) -> None:
    """As Lambda: nothing makes a failed message visible early, so a delay the function set itself holds."""

    def schedule_own_retry(event: dict[str, Any]) -> dict[str, Any]:
        record = event["Records"][0]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=1)
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}

    url, arn, _ = queues(sqs)
    mapping = SqsMapping("uuid-1", "fn", arn, url, 1, 0, True, "Disabled")
    source = SqsPoller(mapping, RecordingHost(schedule_own_retry), sqs, log=lambda _m: None)  # type: ignore[arg-type]
    send(sqs, url, "not yet")
    assert source.poll_once(wait_s=0) == 1 and source.stats.failed == 1
    assert source.poll_once(wait_s=0) == 0  # not back at once (the shortcut would make it so)
    time.sleep(1.2)
    assert source.poll_once(wait_s=0) == 1  # back when the function said
