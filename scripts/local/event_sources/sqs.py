"""Local SQS event source: what Lambda's SQS poller does for a mapping Terraform deployed into the emulator.

Receives batches from the emulator's real queue, invokes the function (in its execution environments) with the
SQS event shape, deletes what succeeded and leaves what failed to come back when its visibility timeout ends
(ReportBatchItemFailures); the queue's own redrive policy dead-letters what keeps failing. See
scripts/local/worker.py for the local shortcut and what differs from AWS on purpose.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from scripts.local.config import LOCAL_REGION
from scripts.local.events import sqs_event
from scripts.local.lambda_host import FunctionHost

RECEIVE_MAX = 10  # SQS ReceiveMessage's own limit per call
# A poll's long-poll wait: short, so that a stopping worker is not held. A worker killed without a drain leaves
# its receives waiting on the queue's side for up to this long; one that a message reaches then hides it for the
# visibility timeout, as on AWS.
POLL_WAIT_S = 1


@dataclass(frozen=True)
class SqsMapping:
    uuid: str
    function_name: str
    queue_arn: str
    queue_url: str
    batch_size: int
    batching_window_s: int
    report_batch_item_failures: bool
    state: str
    maximum_concurrency: int | None = None  # the mapping's ScalingConfig: at most this many batches at once


@dataclass
class PollerStats:
    batches: int = 0
    messages: int = 0
    succeeded: int = 0
    failed: int = 0
    last_error: str | None = None
    last_batch_at: float | None = None


def discover_sqs_mappings(lambda_client: Any, sqs_client: Any) -> list[SqsMapping]:
    found = []
    for page in lambda_client.get_paginator("list_event_source_mappings").paginate():
        for esm in page.get("EventSourceMappings", []):
            arn = esm.get("EventSourceArn", "")
            if not arn.startswith("arn:aws:sqs:"):
                continue
            _, _, _, _, account, queue_name = arn.split(":", 5)
            url = sqs_client.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            found.append(
                SqsMapping(
                    uuid=esm["UUID"],
                    function_name=esm["FunctionArn"].split(":function:", 1)[1].split(":", 1)[0],
                    queue_arn=arn,
                    queue_url=url,
                    batch_size=int(esm.get("BatchSize", 10)),
                    batching_window_s=int(esm.get("MaximumBatchingWindowInSeconds", 0)),
                    report_batch_item_failures="ReportBatchItemFailures" in esm.get("FunctionResponseTypes", []),
                    state=str(esm.get("State", "")),
                    maximum_concurrency=(esm.get("ScalingConfig") or {}).get("MaximumConcurrency"),
                )
            )
    return found


class SqsPoller:
    def __init__(
        self,
        mapping: SqsMapping,
        host: FunctionHost,
        sqs: Any,
        region: str = LOCAL_REGION,
        retry_seconds: int | None = None,
        log: Any = print,
        concurrency: int = 1,
    ) -> None:
        self.mapping = mapping
        self.stats = PollerStats()
        # How many batches run at once (run_forever in that many threads): what Lambda's pollers would give the
        # mapping, bounded by its ScalingConfig and the function's concurrency (worker.build decides).
        self.concurrency = concurrency
        self._lock = threading.Lock()  # the stats and the in-flight receipts, shared by the pollers' threads
        self._in_flight: dict[str, str] = {}  # message id -> receipt handle, while its batch runs
        self._host = host
        self._sqs = sqs
        self._region = region
        self._retry_seconds = retry_seconds
        self._log = log

    def receive_batch(self, wait_s: int = POLL_WAIT_S) -> list[dict[str, Any]]:
        """Up to batch_size messages, gathered for at most the batching window once the first one arrived."""
        batch: list[dict[str, Any]] = []
        deadline: float | None = None
        while len(batch) < self.mapping.batch_size:
            got = self._sqs.receive_message(
                QueueUrl=self.mapping.queue_url,
                MaxNumberOfMessages=min(RECEIVE_MAX, self.mapping.batch_size - len(batch)),
                WaitTimeSeconds=0 if batch else wait_s,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            batch += got
            if not batch:
                return []
            if deadline is None:
                deadline = time.monotonic() + self.mapping.batching_window_s
            if time.monotonic() >= deadline:
                break
            if not got:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        return batch

    def run_batch(self, messages: list[dict[str, Any]]) -> set[str]:
        """Invokes the function with one batch; returns the ids of the messages that failed."""
        ids = {m["MessageId"] for m in messages}
        with self._lock:
            self._in_flight.update({m["MessageId"]: m["ReceiptHandle"] for m in messages})
        try:
            return self._run_batch(messages, ids)
        finally:
            with self._lock:
                for message_id in ids:
                    self._in_flight.pop(message_id, None)

    def release_in_flight(self) -> int:
        """Makes the messages of the batches still running visible now (a drain that ran out of time): after a
        restart they are delivered at once instead of after the queue's visibility timeout. Their invocations may
        still finish; the function is idempotent."""
        with self._lock:
            receipts = list(self._in_flight.values())
            self._in_flight.clear()
        self.release(receipts)
        return len(receipts)

    def release(self, receipts: list[str]) -> None:
        for receipt in receipts:
            with contextlib.suppress(Exception):  # gone already (deleted, or its receipt expired): nothing to free
                self._sqs.change_message_visibility(
                    QueueUrl=self.mapping.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
                )

    def _run_batch(self, messages: list[dict[str, Any]], ids: set[str]) -> set[str]:
        try:
            response = self._host.invoke(
                self.mapping.function_name, sqs_event(messages, self.mapping.queue_arn, self._region)
            )
        except Exception as err:  # the whole invocation failed: every message is retried, as on AWS
            self.stats.last_error = f"{type(err).__name__}: {err}"
            self._log(f"local-worker: {self.mapping.function_name} raised {err!r}; {len(ids)} message(s) retried")
            failed = ids
        else:
            if self.mapping.report_batch_item_failures and isinstance(response, dict):
                reported = {f.get("itemIdentifier") for f in response.get("batchItemFailures") or []}
                # An identifier that is not in the batch makes Lambda treat the whole batch as failed.
                failed = ids if reported - ids else {i for i in reported if i in ids}
            else:
                failed = set()
        by_id = {m["MessageId"]: m for m in messages}
        done = [by_id[i] for i in ids - failed]
        for start in range(0, len(done), RECEIVE_MAX):
            chunk = done[start : start + RECEIVE_MAX]
            self._sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)],
            )
        # As Lambda: a failed message comes back when its visibility timeout ends (the queue's, or what the
        # function set). retry_seconds, a local shortcut for tests and impatience, makes it visible sooner.
        for message_id in failed if self._retry_seconds is not None else ():
            self._sqs.change_message_visibility(
                QueueUrl=self.mapping.queue_url,
                ReceiptHandle=by_id[message_id]["ReceiptHandle"],
                VisibilityTimeout=self._retry_seconds,
            )
        with self._lock:
            self.stats.batches += 1
            self.stats.messages += len(ids)
            self.stats.succeeded += len(ids) - len(failed)
            self.stats.failed += len(failed)
            self.stats.last_batch_at = time.time()
        return failed

    def poll_once(self, wait_s: int = POLL_WAIT_S) -> int:
        messages = self.receive_batch(wait_s)
        if messages:
            self.run_batch(messages)
        return len(messages)

    def run_forever(self, stop: threading.Event) -> None:
        """Polls until stop is set; a batch that is running then finishes, one still being gathered is released."""
        while not stop.is_set():
            try:
                messages = self.receive_batch()
                if messages and stop.is_set():
                    self.release([m["ReceiptHandle"] for m in messages])
                elif messages:
                    self.run_batch(messages)
            except Exception as err:  # the emulator restarting, a deleted queue: report and keep polling
                self.stats.last_error = f"{type(err).__name__}: {err}"
                self._log(f"local-worker: polling {self.mapping.queue_url} failed: {err!r}")
                stop.wait(2)
