"""The local Kafka event source's offset rules with a scripted consumer: what is committed, what is rewound,
when a record is given up, and the MSK event it builds."""

from __future__ import annotations

import base64
from typing import Any

from scripts.local.event_sources.kafka import KafkaMapping, KafkaPoller


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

    def subscribe(self, topics: list[str]) -> None:
        pass

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        batch: list[FakeMessage] = []
        for (topic, partition), size in self.log.items():
            while self.position[(topic, partition)] < size and len(batch) < num_messages:
                offset = self.position[(topic, partition)]
                batch.append(FakeMessage(topic, partition, offset, f"{partition}:{offset}".encode()))
                self.position[(topic, partition)] += 1
        return batch

    def commit(self, offsets: list[Any], asynchronous: bool) -> None:
        assert asynchronous is False
        self.commits.append(sorted((tp.topic, tp.partition, tp.offset) for tp in offsets))

    def seek(self, position: Any) -> None:
        self.position[(position.topic, position.partition)] = position.offset

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


def poller(consumer: ScriptedConsumer, function: ScriptedFunction, **overrides: Any) -> KafkaPoller:
    mapping = KafkaMapping("fn", "127.0.0.1:1", ("t",), "group", **{"batch_size": 10, **overrides})
    return KafkaPoller(mapping, function, consumer_factory=lambda _config: consumer, log=lambda _m: None)


def test_the_event_is_the_msk_shape_grouped_by_topic_partition() -> None:
    consumer = ScriptedConsumer({("t", 0): 2, ("t", 1): 1})
    function = ScriptedFunction()
    poller(consumer, function).poll_once()

    [event] = function.events
    assert set(event["records"]) == {"t-0", "t-1"}
    first = event["records"]["t-0"][0]
    assert base64.b64decode(first["value"]) == b"0:0" and first["headers"] == [{"content-type": list(b"image/png")}]
    assert first["timestamp"] == 1_700_000_000_000 and first["timestampType"] == "CREATE_TIME"
    assert consumer.commits == [[("t", 0, 2), ("t", 1, 1)]]


def test_a_failed_record_rewinds_its_partition_only() -> None:
    consumer = ScriptedConsumer({("t", 0): 5, ("t", 1): 3})
    function = ScriptedFunction(fail={(0, 2), (0, 4)})
    source = poller(consumer, function, max_retries=5)

    source.poll_once()

    assert consumer.commits[-1] == [("t", 0, 2), ("t", 1, 3)]  # the lowest failure, and past partition 1
    source.poll_once()  # partition 0 comes again from offset 2
    redelivered = [r["offset"] for r in function.events[1]["records"]["t-0"]]
    assert redelivered == [2, 3, 4] and "t-1" not in function.events[1]["records"]


def test_a_record_is_given_up_after_max_retries_and_the_partition_moves_on() -> None:
    consumer = ScriptedConsumer({("t", 0): 4})
    function = ScriptedFunction(fail={(0, 1)})
    source = poller(consumer, function, max_retries=3)

    for _ in range(3):
        source.poll_once()

    assert source.stats.given_up == 1 and source.stats.failed_deliveries == 3
    assert consumer.commits == [[("t", 0, 1)], [("t", 0, 1)], [("t", 0, 4)]]
    assert source.poll_once() == 0


def test_an_invocation_error_or_a_foreign_identifier_fails_the_whole_batch() -> None:
    consumer = ScriptedConsumer({("t", 0): 3})
    source = poller(consumer, ScriptedFunction(raise_on_call=1), max_retries=5)
    source.poll_once()
    assert consumer.commits == [[("t", 0, 0)]] and source.stats.last_error == "RuntimeError: the function crashed"

    class Liar(ScriptedFunction):
        def invoke(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
            return {"batchItemFailures": [{"itemIdentifier": {"partition": "other-9", "offset": 1}}]}

    consumer = ScriptedConsumer({("t", 0): 3})
    poller(consumer, Liar(), max_retries=5).poll_once()
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
