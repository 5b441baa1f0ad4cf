"""The local Kafka event source's offset rules with a scripted consumer: what is committed, what is rewound,
when a record is given up, and the MSK event it builds."""

from __future__ import annotations

import base64
import threading
from typing import Any

import pytest

from scripts.local.event_sources.kafka import KafkaMapping, KafkaPoller, retry_backoff_s


class FakeMessage:
    def __init__(self, topic: str, partition: int, offset: int, value: bytes) -> None:
        self._coordinates = (topic, partition, offset)
        self._value = value

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._coordinates[0]

    def partition(self) -> int:
        return self._coordinates[1]

    def offset(self) -> int:
        return self._coordinates[2]

    def value(self) -> bytes:
        return self._value

    def key(self) -> None:
        return None

    def headers(self) -> list[tuple[str, bytes]]:
        return [("content-type", b"image/png")]

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000)


class ScriptedConsumer:
    """Hands out a log per partition from a position, and records commits and seeks like confluent-kafka."""

    def __init__(self, log: dict[tuple[str, int], int]) -> None:
        self.log = log  # (topic, partition) -> number of records
        self.position = dict.fromkeys(log, 0)
        self.commits: list[list[tuple[str, int, int]]] = []
        self.paused: set[tuple[str, int]] = set()

    def subscribe(self, topics: list[str]) -> None:
        pass

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        batch: list[FakeMessage] = []
        for (topic, partition), size in self.log.items():
            while (
                (topic, partition) not in self.paused
                and self.position[(topic, partition)] < size
                and len(batch) < num_messages
            ):
                offset = self.position[(topic, partition)]
                batch.append(FakeMessage(topic, partition, offset, f"{partition}:{offset}".encode()))
                self.position[(topic, partition)] += 1
        return batch

    def commit(self, offsets: list[Any], asynchronous: bool) -> None:
        assert asynchronous is False
        self.commits.append(sorted((tp.topic, tp.partition, tp.offset) for tp in offsets))

    def seek(self, position: Any) -> None:
        self.position[(position.topic, position.partition)] = position.offset

    def pause(self, partitions: list[Any]) -> None:
        self.paused |= {(tp.topic, tp.partition) for tp in partitions}

    def resume(self, partitions: list[Any]) -> None:
        self.paused -= {(tp.topic, tp.partition) for tp in partitions}

    def close(self) -> None:
        pass


class ScriptedFunction:
    def __init__(self, fail: set[tuple[int, int]] | None = None, raise_on_call: int | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail or set()
        self.raise_on_call = raise_on_call

    def invoke(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        if self.raise_on_call == len(self.events):
            raise RuntimeError("the function crashed")
        failures = [
            {"itemIdentifier": {"partition": f"{r['topic']}-{r['partition']}", "offset": r["offset"]}}
            for records in event["records"].values()
            for r in records
            if (r["partition"], r["offset"]) in self.fail
        ]
        return {"batchItemFailures": failures}


def poller(consumer: ScriptedConsumer, function: ScriptedFunction, clock: Any = None, **overrides: Any) -> KafkaPoller:
    """A poller whose backoff is over at once unless the test brings its own clock."""
    mapping = KafkaMapping("fn", "127.0.0.1:1", ("t",), "group", **{"batch_size": 10, **overrides})
    timing = {"clock": clock} if clock else {"backoff_s": lambda _failures: 0.0}
    return KafkaPoller(mapping, function, consumer_factory=lambda _config: consumer, log=lambda _m: None, **timing)


def test_each_partition_is_one_invocation_of_the_msk_shape() -> None:
    consumer = ScriptedConsumer({("t", 0): 2, ("t", 1): 1})
    function = ScriptedFunction()
    poller(consumer, function).poll_once()

    by_partition = {key: event for event in function.events for key in event["records"]}
    assert sorted(by_partition) == ["t-0", "t-1"] and len(function.events) == 2  # one partition per event
    assert [r["offset"] for r in by_partition["t-0"]["records"]["t-0"]] == [0, 1]  # in order within it
    first = by_partition["t-0"]["records"]["t-0"][0]
    assert base64.b64decode(first["value"]) == b"0:0" and first["headers"] == [{"content-type": list(b"image/png")}]
    assert first["timestamp"] == 1_700_000_000_000 and first["timestampType"] == "CREATE_TIME"
    assert consumer.commits == [[("t", 0, 2), ("t", 1, 1)]]


def test_the_partitions_of_a_batch_run_at_once() -> None:
    """Both partitions' invocations must be in the function together to pass the barrier: one after the other,
    the first would wait for the second and the barrier would break."""
    consumer = ScriptedConsumer({("t", 0): 1, ("t", 1): 1, ("t", 2): 1})
    together = threading.Barrier(3, timeout=10)

    class Meeting(ScriptedFunction):
        def invoke(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
            together.wait()
            return super().invoke(name, event)

    function = Meeting()
    assert poller(consumer, function).poll_once() == 3
    assert len(function.events) == 3 and not together.broken
    assert consumer.commits == [[("t", 0, 1), ("t", 1, 1), ("t", 2, 1)]]


def test_a_failed_record_rewinds_its_partition_only() -> None:
    consumer = ScriptedConsumer({("t", 0): 5, ("t", 1): 3})
    function = ScriptedFunction(fail={(0, 2), (0, 4)})
    source = poller(consumer, function, maximum_retry_attempts=5)

    source.poll_once()

    assert consumer.commits[-1] == [("t", 0, 2), ("t", 1, 3)]  # the lowest failure, and past partition 1
    source.poll_once()  # partition 0 comes again from offset 2
    assert len(function.events) == 3 and list(function.events[-1]["records"]) == ["t-0"]
    assert [r["offset"] for r in function.events[-1]["records"]["t-0"]] == [2, 3, 4]


def test_a_record_is_given_up_after_the_declared_retries_and_the_partition_moves_on() -> None:
    consumer = ScriptedConsumer({("t", 0): 4})
    function = ScriptedFunction(fail={(0, 1)})
    source = poller(consumer, function, maximum_retry_attempts=2)  # the first delivery and two retries

    for _ in range(3):
        source.poll_once()

    assert source.stats.given_up == 1 and source.stats.failed_deliveries == 3
    assert consumer.commits == [[("t", 0, 1)], [("t", 0, 1)], [("t", 0, 4)]]
    assert source.poll_once() == 0


@pytest.mark.parametrize(
    ("declared", "destination", "retries"),
    [(-1, None, None), (-1, "http://q", 10), (0, "http://q", 0), (3, None, 3)],
)
def test_the_retries_are_lambda_s_for_the_declared_settings(
    declared: int, destination: str | None, retries: int | None
) -> None:
    """No limit declared: retry until it succeeds; with an on-failure destination AWS applies 10."""
    mapping = KafkaMapping("fn", "b", ("t",), "g", maximum_retry_attempts=declared, on_failure_queue_url=destination)
    assert mapping.retries == retries


def test_without_a_limit_a_failing_record_is_never_given_up() -> None:
    consumer = ScriptedConsumer({("t", 0): 2})
    failing = ScriptedFunction(fail={(0, 0)})
    source = poller(consumer, failing)
    for _ in range(25):
        source.poll_once()
    assert source.stats.given_up == 0 and source.stats.failed_deliveries == 25
    assert consumer.commits[-1] == [("t", 0, 0)]  # still waiting at the failed record


def test_a_failed_partition_waits_its_backoff_while_the_others_go_on() -> None:
    now = [0.0]
    consumer = ScriptedConsumer({("t", 0): 2, ("t", 1): 2})
    function = ScriptedFunction(fail={(0, 0)})
    source = poller(consumer, function, clock=lambda: now[0])

    source.poll_once()  # partition 0 fails at offset 0: 1 s before it comes again
    consumer.log[("t", 1)] = 4  # more arrives on partition 1
    source.poll_once()
    assert [list(e["records"]) for e in function.events[2:]] == [["t-1"]]
    now[0] = 1.0
    function.fail.clear()
    source.poll_once()
    assert [r["offset"] for r in function.events[-1]["records"]["t-0"]] == [0, 1]
    assert retry_backoff_s(1) == 1 and retry_backoff_s(3) == 4 and retry_backoff_s(10) == 30


def test_an_invocation_error_or_a_foreign_identifier_fails_the_whole_batch() -> None:
    consumer = ScriptedConsumer({("t", 0): 3})
    source = poller(consumer, ScriptedFunction(raise_on_call=1), maximum_retry_attempts=5)
    source.poll_once()
    assert consumer.commits == [[("t", 0, 0)]] and source.stats.last_error == "RuntimeError: the function crashed"

    class Liar(ScriptedFunction):
        def invoke(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
            return {"batchItemFailures": [{"itemIdentifier": {"partition": "other-9", "offset": 1}}]}

    consumer = ScriptedConsumer({("t", 0): 3})
    poller(consumer, Liar(), maximum_retry_attempts=5).poll_once()
    assert consumer.commits == [[("t", 0, 0)]]


def test_the_worker_runs_the_declared_kafka_source_only_when_no_mapping_exists() -> None:
    from scripts.local.event_sources.kafka import kafka_mappings

    declared: dict[str, Any] = {
        "type": "self_managed",
        "bootstrap_servers": ["127.0.0.1:19092"],
        "topic": "images",
        "consumer_group_id": "imgpipe-local-kafka-ingest",
        "batch_size": 100,
        "batching_window_seconds": 1,
        "starting_position": "TRIM_HORIZON",
        "function_name": "imgpipe-local-kafka_ingest",
        "on_failure_queue_url": "http://127.0.0.1:4566/123456789012/imgpipe-local-kafka-rejects",
        "mapping_created": False,
    }
    [mapping] = kafka_mappings({"kafka_event_source": declared})
    assert mapping == KafkaMapping(
        "imgpipe-local-kafka_ingest",
        "127.0.0.1:19092",
        ("images",),
        "imgpipe-local-kafka-ingest",
        batch_size=100,
        batching_window_s=1.0,
        starting_position="TRIM_HORIZON",
        on_failure_queue_url=declared["on_failure_queue_url"],
    )
    assert kafka_mappings({"kafka_event_source": {**declared, "mapping_created": True}}) == []  # AWS consumes
    assert kafka_mappings({"kafka_event_source": None}) == [] and kafka_mappings({}) == []
