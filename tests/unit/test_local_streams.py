"""The local DynamoDB stream source: Lambda's record shape, checkpoints past successes, resume at a failure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scripts.local.event_sources.dynamodb_streams import (
    StreamMapping,
    StreamPoller,
    declared_stream_mappings,
    lambda_record,
)

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/images/stream/2026-12-01T00:00:00.000"


class FakeStreams:
    """One shard holding `records`; iterators are positions, as far as the poller can tell."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-0"}]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str, **kw: Any) -> dict[str, Any]:
        if ShardIteratorType == "AT_SEQUENCE_NUMBER":
            return {
                "ShardIterator": str(
                    next(
                        i for i, r in enumerate(self.records) if r["dynamodb"]["SequenceNumber"] == kw["SequenceNumber"]
                    )
                )
            }
        return {"ShardIterator": "0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        start = int(ShardIterator)
        return {
            "Records": self.records[start : start + Limit],
            "NextShardIterator": str(min(len(self.records), start + Limit)),
        }


def record(sequence: int) -> dict[str, Any]:
    return {
        "eventID": str(sequence),
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
            "SequenceNumber": str(sequence),
            "NewImage": {"image_id": {"S": f"id-{sequence}"}},
        },
    }


class Host:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.fail = fail or set()
        self.batches: list[list[str]] = []

    def invoke(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        sequences = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        self.batches.append(sequences)
        failed = [s for s in sequences if s in self.fail]
        self.fail -= set(failed[:1])  # fails once
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failed[:1]]}


def mapping(batch_size: int = 2) -> StreamMapping:
    return StreamMapping("u", "export", ARN, batch_size, "TRIM_HORIZON", True, "declared")


def test_records_reach_the_function_as_lambda_delivers_them() -> None:
    converted = lambda_record(record(7), ARN)
    assert converted["eventSourceARN"] == ARN
    assert converted["dynamodb"]["ApproximateCreationDateTime"] == int(datetime(2026, 12, 1, 9, tzinfo=UTC).timestamp())


def test_the_checkpoint_moves_past_successes_and_resumes_at_a_reported_failure() -> None:
    host = Host(fail={"3"})
    poller = StreamPoller(mapping(), host, FakeStreams([record(n) for n in range(1, 6)]))
    while poller.poll_once():
        pass
    assert host.batches == [["1", "2"], ["3", "4"], ["3", "4"], ["5"]]  # 3 failed once: redelivered from 3
    assert poller.stats.failed_batches == 1 and poller.stats.records == 7


def test_a_declared_source_becomes_a_poller_only_when_no_mapping_was_created() -> None:
    source = {
        "function_name": "imgpipe-local-metadata_export",
        "stream_arn": ARN,
        "batch_size": 500,
        "starting_position": "TRIM_HORIZON",
        "report_batch_item_failures": True,
        "mapping_created": False,
    }
    [declared] = declared_stream_mappings({"analytics": {"event_source": source}})
    assert (declared.function_name, declared.stream_arn, declared.batch_size) == (source["function_name"], ARN, 500)
    assert declared_stream_mappings({"analytics": {"event_source": {**source, "mapping_created": True}}}) == []
    assert declared_stream_mappings({}) == []
