"""image_processor as a long-running worker (a container on ECS Fargate): the Lambda handler's own record handler
(`handler.handle_record`, the same idempotent state machine), fed by an SQS long poll of its own instead of
Lambda's event source mapping. Shipped in the same package as the Lambda function, so both runtimes run the
same files with the same pins.

    python -m worker          (the container's command; settings from the environment, as the function's)

What Lambda's SQS integration does, this does the same way:
- a message is deleted only when its record handler returned; a failure leaves it to come back after the
  queue's visibility timeout, and to the dead-letter queue after maxReceiveCount (partial batch failure);
- while an image is being worked on, its message's visibility is extended, so a slow image is not delivered to
  a second worker meanwhile (Lambda keeps a batch invisible for the function's timeout instead);
- SIGTERM (a deploy, a scale-in, a Fargate Spot interruption: two minutes' notice) stops the polling at once;
  the message in hand is finished if it fits in WORKER_DRAIN_SECONDS, and every message not started is
  released (visibility 0), so another worker takes it now rather than after the visibility timeout;
- WORKER_HEALTH_FILE is touched on every poll: the container's health check is its age.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import handler
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from imgpipe import config

MAX_MESSAGES = 10  # SQS's own maximum per receive


@dataclass(frozen=True)
class WorkerSettings:
    queue_url: str
    wait_seconds: int = 20  # long polling: an idle worker costs one request per 20 s
    batch_size: int = MAX_MESSAGES
    visibility_seconds: int = 120  # what each extension sets; renewed at half of it
    drain_seconds: float = 100.0  # of Fargate Spot's 120 s notice: the rest is for the process to exit
    health_file: Path | None = None

    @classmethod
    def from_environment(cls) -> WorkerSettings:
        health = config.optional("WORKER_HEALTH_FILE")
        return cls(
            queue_url=config.required("QUEUE_URL"),
            wait_seconds=config.integer("WORKER_WAIT_SECONDS", 20, 0, 20),
            batch_size=config.integer("WORKER_BATCH_SIZE", MAX_MESSAGES, 1, MAX_MESSAGES),
            visibility_seconds=config.integer("WORKER_VISIBILITY_SECONDS", 120, 10, 43_200),
            drain_seconds=float(config.integer("WORKER_DRAIN_SECONDS", 100, 0, 600)),
            health_file=Path(health) if health else None,
        )


@dataclass
class Tally:
    processed: int = 0  # handled and deleted
    failed: int = 0  # left to come back after the visibility timeout (then the DLQ)
    released: int = 0  # given back unstarted on shutdown


def as_record(message: dict[str, Any], queue_arn: str, region: str) -> SQSRecord:
    """The message as Lambda's SQS event would carry it (what the record handler reads)."""
    return SQSRecord(
        {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }
    )


class Heartbeat:
    """Keeps one message invisible while it is worked on: its visibility set again every half period."""

    def __init__(self, sqs: Any, queue_url: str, receipt: str, visibility_seconds: int) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(sqs, queue_url, receipt, visibility_seconds), daemon=True
        )

    def _run(self, sqs: Any, queue_url: str, receipt: str, visibility_seconds: int) -> None:
        while not self._stop.wait(visibility_seconds / 2):
            try:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=visibility_seconds
                )
            except Exception as err:  # the message is gone or the receipt expired: nothing left to extend
                handler.logger.warning("visibility not extended", extra={"error": repr(err)})
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Worker:
    def __init__(
        self,
        settings: WorkerSettings,
        sqs: Any | None = None,
        handle: Callable[[SQSRecord], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.sqs = sqs or boto3.client("sqs")
        self.handle = handle or handler.handle_record
        self.stopping = threading.Event()
        self.tally = Tally()
        self._clock = clock
        self._deadline: float | None = None
        attributes = self.sqs.get_queue_attributes(QueueUrl=settings.queue_url, AttributeNames=["QueueArn"])
        self._queue_arn = attributes["Attributes"]["QueueArn"]
        self._region = self.sqs.meta.region_name

    def stop(self, *_signal: object) -> None:
        """SIGTERM/SIGINT: no new poll; the message in hand may finish within the drain time."""
        if not self.stopping.is_set():
            self._deadline = self._clock() + self.settings.drain_seconds
            self.stopping.set()
            handler.logger.info("stopping", extra={"drain_seconds": self.settings.drain_seconds})

    def _time_for_one_more(self) -> bool:
        if self._deadline is None:
            return True
        needed = float(handler.processor().budget_seconds + handler.IO_MARGIN_SECONDS)
        return self._deadline - self._clock() >= needed

    def _touch_health(self) -> None:
        if self.settings.health_file is not None:
            self.settings.health_file.touch()

    def poll_once(self) -> int:
        """One receive and its messages; returns how many were received."""
        self._touch_health()
        answer = self.sqs.receive_message(
            QueueUrl=self.settings.queue_url,
            MaxNumberOfMessages=self.settings.batch_size,
            WaitTimeSeconds=self.settings.wait_seconds,
            VisibilityTimeout=self.settings.visibility_seconds,
            MessageSystemAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        for index, message in enumerate(messages):
            if self.stopping.is_set() and not self._time_for_one_more():
                self._release(messages[index:])
                break
            self._work_on(message)
        return len(messages)

    def _work_on(self, message: dict[str, Any]) -> None:
        record = as_record(message, self._queue_arn, self._region)
        try:
            with Heartbeat(
                self.sqs, self.settings.queue_url, message["ReceiptHandle"], self.settings.visibility_seconds
            ):
                self.handle(record)
        except Exception:
            # As Lambda's partial batch failure: the message comes back after its visibility timeout.
            handler.logger.exception("message failed", extra={"message_id": message["MessageId"]})
            self.tally.failed += 1
            return
        finally:
            handler.metrics.flush_metrics()
        self.sqs.delete_message(QueueUrl=self.settings.queue_url, ReceiptHandle=message["ReceiptHandle"])
        self.tally.processed += 1

    def _release(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=self.settings.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
            self.tally.released += 1

    def run(self) -> Tally:
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception as err:  # the queue unreachable for a moment: say so, wait, poll again
                handler.logger.warning("poll failed", extra={"error": repr(err)})
                self.stopping.wait(2)
        handler.logger.info("stopped", extra={"tally": self.tally.__dict__})
        return self.tally


def main() -> int:
    worker = Worker(WorkerSettings.from_environment())
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    tally = worker.run()
    print(json.dumps({"stopped": tally.__dict__}), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
