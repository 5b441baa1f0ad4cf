"""Local Kafka event source: what Lambda's Kafka event source mapping does, for a function that moto cannot run
and an ESM that moto cannot hold (it refuses self-managed Kafka and MSK sources; docs/kafka.md).

A KafkaPoller consumes the declared topics in the declared consumer group from the embedded broker, gathers up
to batch_size records for at most the batching window, invokes the function with the exact MSK event shape
(scripts/local/events.msk_event), once per partition and the partitions at once (Lambda's concurrency for a
Kafka source: one invocation per partition), and commits offsets only past what succeeded: for a partition
with a reported failure it commits and rewinds to the lowest failed offset, so that record and the ones after
it come again (the function is idempotent per record), after a backoff during which only that partition waits.
A record is given up only as the mapping's retry settings say (AWS's rules: no limit declared means retry until
it succeeds, or 10 retries when an on-failure destination is declared, as ingest_kafka declares one): its
coordinates then go to the on-failure destination (an SQS queue, as on AWS) and its offset advances. A consumer
or broker restart resumes from the committed offsets.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from scripts.local.events import msk_event, msk_record

# What Lambda applies to a Kafka mapping with an on-failure destination and no retry limit of its own.
INFINITE_WITH_DESTINATION = 10


def retry_backoff_s(failures: int) -> float:
    """How long a partition waits before its failed record is delivered again: doubling from 1 s, at most 30 s.
    Lambda does not document its own backoff for Kafka; a transient failure (the emulator or broker restarting)
    then has time to pass before the retries run out."""
    return float(min(30, 2 ** max(0, failures - 1)))


@dataclass(frozen=True)
class KafkaMapping:
    """What the deployed configuration declares for the function's Kafka source."""

    function_name: str
    bootstrap_servers: str
    topics: tuple[str, ...]
    consumer_group_id: str
    batch_size: int = 100
    batching_window_s: float = 1.0
    starting_position: str = "TRIM_HORIZON"  # or LATEST
    report_batch_item_failures: bool = True
    # Lambda's defaults: -1, retry until it succeeds; with an on-failure destination, -1 means 10 retries.
    maximum_retry_attempts: int = -1
    on_failure_queue_url: str | None = None

    @property
    def retries(self) -> int | None:
        """Retries after a record's first failed delivery before it is given up; None: never given up."""
        if self.maximum_retry_attempts >= 0:
            return self.maximum_retry_attempts
        return INFINITE_WITH_DESTINATION if self.on_failure_queue_url else None


@dataclass
class KafkaStats:
    batches: int = 0
    records: int = 0
    failed_deliveries: int = 0
    given_up: int = 0
    last_error: str | None = None


@dataclass
class KafkaPoller:
    mapping: KafkaMapping
    host: Any  # has invoke(name, event), like scripts.local.lambda_host.FunctionHost
    sqs: Any = None  # for the on-failure destination
    consumer_factory: Callable[[dict[str, Any]], Any] | None = None
    log: Callable[[str], None] = print
    backoff_s: Callable[[int], float] = retry_backoff_s
    clock: Callable[[], float] = time.monotonic
    stats: KafkaStats = field(default_factory=KafkaStats)
    _attempts: dict[tuple[str, int, int], int] = field(default_factory=dict)
    _paused_until: dict[tuple[str, int], float] = field(default_factory=dict)
    _consumer: Any = None

    def _consumer_config(self) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.mapping.bootstrap_servers,
            "group.id": self.mapping.consumer_group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest" if self.mapping.starting_position == "TRIM_HORIZON" else "latest",
            "session.timeout.ms": 6000,  # Tansu answers JoinGroup after half of it
        }

    def start(self) -> None:
        if self.consumer_factory is None:
            from confluent_kafka import Consumer

            self._consumer = Consumer(self._consumer_config())
        else:
            self._consumer = self.consumer_factory(self._consumer_config())
        self._consumer.subscribe(list(self.mapping.topics))

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def poll_once(self) -> int:
        """One batch at most: returns how many records were delivered to the function."""
        if self._consumer is None:
            self.start()
        self._resume_due()
        messages = [
            m
            for m in self._consumer.consume(
                num_messages=self.mapping.batch_size, timeout=max(0.1, self.mapping.batching_window_s)
            )
            if m.error() is None
        ]
        if not messages:
            return 0
        records = [
            msk_record(
                m.topic(),
                m.partition(),
                m.offset(),
                m.value(),
                [(k, v if isinstance(v, bytes) else str(v or "").encode()) for k, v in (m.headers() or [])],
                key=m.key() if isinstance(m.key(), bytes) else None,
                timestamp_ms=m.timestamp()[1],
            )
            for m in messages
        ]
        failed = self._invoke_per_partition(records)
        self._settle(records, failed)
        self.stats.batches += 1
        self.stats.records += len(records)
        return len(records)

    def _invoke_per_partition(self, records: list[dict[str, Any]]) -> set[tuple[str, int, int]]:
        """One invocation per partition, all at once: Lambda gives a Kafka source up to one concurrent invocation
        per partition and keeps each partition's records in order within it."""
        by_partition: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for record in records:
            by_partition.setdefault((record["topic"], record["partition"]), []).append(record)
        batches = list(by_partition.values())
        if len(batches) == 1:
            return self._invoke(batches[0])
        with ThreadPoolExecutor(len(batches), thread_name_prefix="kafka-partition") as pool:
            return set().union(*pool.map(self._invoke, batches))

    def _invoke(self, records: list[dict[str, Any]]) -> set[tuple[str, int, int]]:
        everything = {(r["topic"], r["partition"], r["offset"]) for r in records}
        event = msk_event(records, bootstrap=self.mapping.bootstrap_servers)
        try:
            response = self.host.invoke(self.mapping.function_name, event)
        except Exception as err:  # the invocation failed: every record of the batch is retried, as on AWS
            self.stats.last_error = f"{type(err).__name__}: {err}"
            self.log(f"local-kafka: {self.mapping.function_name} raised {err!r}; batch retried")
            return everything
        if not self.mapping.report_batch_item_failures or not isinstance(response, dict):
            return set()
        failed = set()
        for failure in response.get("batchItemFailures") or []:
            identifier = failure.get("itemIdentifier") or {}
            topic_partition, _, partition = str(identifier.get("partition", "")).rpartition("-")
            coordinates = (topic_partition, int(partition or -1), int(identifier.get("offset", -1)))
            if coordinates not in everything:
                return everything  # an identifier not in the batch fails the whole batch, as on AWS
            failed.add(coordinates)
        return failed

    def _settle(self, records: list[dict[str, Any]], failed: set[tuple[str, int, int]]) -> None:
        from confluent_kafka import TopicPartition

        by_partition: dict[tuple[str, int], list[int]] = {}
        for record in records:
            by_partition.setdefault((record["topic"], record["partition"]), []).append(record["offset"])
        commits, rewinds = [], []
        for (topic, partition), offsets in by_partition.items():
            failures = sorted(o for o in offsets if (topic, partition, o) in failed)
            retry_from = None
            for offset in failures:
                attempts = self._attempts.get((topic, partition, offset), 0) + 1
                self._attempts[(topic, partition, offset)] = attempts
                self.stats.failed_deliveries += 1
                retries = self.mapping.retries
                if retries is not None and attempts > retries:
                    self._give_up(topic, partition, offset, attempts)
                else:
                    retry_from = offset
                    self._paused_until[(topic, partition)] = self.clock() + self.backoff_s(attempts)
                    break
            next_offset = retry_from if retry_from is not None else max(offsets) + 1
            commits.append(TopicPartition(topic, partition, next_offset))
            if retry_from is not None:
                rewinds.append(TopicPartition(topic, partition, retry_from))
        self._consumer.commit(offsets=commits, asynchronous=False)
        for position in rewinds:
            self._consumer.seek(position)
        if rewinds:  # nothing more from those partitions until their backoff is over; the others go on
            self._consumer.pause(rewinds)

    def _resume_due(self) -> None:
        from confluent_kafka import TopicPartition

        now = self.clock()
        due = [key for key, until in self._paused_until.items() if until <= now]
        if due:
            self._consumer.resume([TopicPartition(topic, partition) for topic, partition in due])
            for key in due:
                del self._paused_until[key]

    def _give_up(self, topic: str, partition: int, offset: int, attempts: int) -> None:
        self.stats.given_up += 1
        self.log(f"local-kafka: {topic}-{partition}@{offset} failed {attempts} times; sent to the on-failure queue")
        if self.sqs is not None and self.mapping.on_failure_queue_url:
            self.sqs.send_message(
                QueueUrl=self.mapping.on_failure_queue_url,
                MessageBody=json.dumps(
                    {
                        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts},
                        "KafkaBatchInfo": {"topic": topic, "partition": partition, "offset": offset},
                        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    }
                ),
            )


def kafka_mappings(outputs: dict[str, Any]) -> list[KafkaMapping]:
    """The Kafka source the deployment declares (pipeline output kafka_event_source) when no real event source
    mapping consumes it: moto refuses Kafka mappings, so envs/local declares one without creating it."""
    source = outputs.get("kafka_event_source")
    if not isinstance(source, dict) or source.get("mapping_created"):
        return []
    return [
        KafkaMapping(
            function_name=str(source["function_name"]),
            bootstrap_servers=",".join(source["bootstrap_servers"]),
            topics=(str(source["topic"]),),
            consumer_group_id=str(source["consumer_group_id"]),
            batch_size=int(source["batch_size"]),
            batching_window_s=float(source["batching_window_seconds"]),
            starting_position=str(source["starting_position"]),
            on_failure_queue_url=source.get("on_failure_queue_url"),
        )
    ]


def ensure_topic(bootstrap_servers: str, topic: str, partitions: int = 3) -> None:
    """The embedded broker creates nothing by itself (and cannot add partitions later): create the declared
    topic once, with the partition count the local runtime is tested with."""
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    if topic in admin.list_topics(timeout=10).topics:
        return
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values():
        try:
            future.result(15)
        except Exception as err:  # a concurrent creator won: fine
            if "TOPIC_ALREADY_EXISTS" not in str(err):
                raise
