"""Local DynamoDB stream event source: what Lambda's stream mapping does, for a function moto cannot run.

Every mapping from a DynamoDB stream found in the emulator's Lambda (function, stream, batch size,
ReportBatchItemFailures), and the one the deployment declares without creating it (envs/local: moto empties a
table's stream whenever a mapping is attached), gets a StreamPoller: it reads each shard of the emulator's real
stream from the mapping's starting position, invokes the function (its execution environment) with the records
as Lambda delivers them, and moves the shard's checkpoint past what succeeded; with a reported failure it resumes
at that record. Nothing is re-declared: the mapping comes from what Terraform deployed or declared.
Checkpoints live in memory: a restarted worker reads the stream again from TRIM_HORIZON; the export's files are
keyed by sequence numbers and its queries keep each image's latest change, so that repeats nothing in results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StreamMapping:
    uuid: str
    function_name: str
    stream_arn: str
    batch_size: int
    starting_position: str  # TRIM_HORIZON | LATEST
    report_batch_item_failures: bool
    state: str


@dataclass
class StreamStats:
    batches: int = 0
    records: int = 0
    failed_batches: int = 0
    last_error: str | None = None


def discover_stream_mappings(lambda_client: Any) -> list[StreamMapping]:
    found = []
    for page in lambda_client.get_paginator("list_event_source_mappings").paginate():
        for esm in page.get("EventSourceMappings", []):
            arn = esm.get("EventSourceArn", "")
            if ":dynamodb:" not in arn or "/stream/" not in arn:
                continue
            found.append(
                StreamMapping(
                    uuid=esm["UUID"],
                    function_name=esm["FunctionArn"].split(":function:", 1)[1].split(":", 1)[0],
                    stream_arn=arn,
                    batch_size=int(esm.get("BatchSize", 100)),
                    starting_position=str(esm.get("StartingPosition", "TRIM_HORIZON")),
                    report_batch_item_failures="ReportBatchItemFailures" in esm.get("FunctionResponseTypes", []),
                    state=str(esm.get("State", "")),
                )
            )
    return found


def declared_stream_mappings(outputs: dict[str, Any]) -> list[StreamMapping]:
    """The stream source the deployment declares without creating it (pipeline output analytics.event_source):
    moto empties a table's stream whenever a mapping is attached, so envs/local declares one instead."""
    source = (outputs.get("analytics") or {}).get("event_source")
    if not isinstance(source, dict) or source.get("mapping_created"):
        return []
    return [
        StreamMapping(
            uuid=f"declared-{source['function_name']}",
            function_name=str(source["function_name"]),
            stream_arn=str(source["stream_arn"]),
            batch_size=int(source["batch_size"]),
            starting_position=str(source["starting_position"]),
            report_batch_item_failures=bool(source["report_batch_item_failures"]),
            state="declared",
        )
    ]


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda puts it in an event: epoch-seconds creation time, the stream's ARN."""
    stream = dict(record["dynamodb"])
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        stream["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": stream, "eventSourceARN": stream_arn}


@dataclass
class StreamPoller:
    mapping: StreamMapping
    host: Any  # has invoke(name, event), like scripts.local.lambda_host.FunctionHost
    streams: Any  # boto3 dynamodbstreams client
    stats: StreamStats = field(default_factory=StreamStats)
    _iterators: dict[str, str | None] = field(default_factory=dict)

    def _iterator(self, shard: str) -> str | None:
        if shard not in self._iterators:
            self._iterators[shard] = self.streams.get_shard_iterator(
                StreamArn=self.mapping.stream_arn, ShardId=shard, ShardIteratorType=self.mapping.starting_position
            )["ShardIterator"]
        return self._iterators[shard]

    def poll_once(self) -> int:
        """One batch at most per shard: returns how many records were delivered."""
        delivered = 0
        description = self.streams.describe_stream(StreamArn=self.mapping.stream_arn)["StreamDescription"]
        for shard in (s["ShardId"] for s in description.get("Shards", [])):
            iterator = self._iterator(shard)
            if iterator is None:  # a closed shard read to its end
                continue
            page = self.streams.get_records(ShardIterator=iterator, Limit=self.mapping.batch_size)
            records = [lambda_record(r, self.mapping.stream_arn) for r in page.get("Records", [])]
            if not records:
                self._iterators[shard] = page.get("NextShardIterator")
                continue
            failed_at = self._invoke(records)
            if failed_at is None:
                self._iterators[shard] = page.get("NextShardIterator")
            else:  # resume at the first failed record, as Lambda's checkpoint does
                self.stats.failed_batches += 1
                self._iterators[shard] = self.streams.get_shard_iterator(
                    StreamArn=self.mapping.stream_arn,
                    ShardId=shard,
                    ShardIteratorType="AT_SEQUENCE_NUMBER",
                    SequenceNumber=failed_at,
                )["ShardIterator"]
            self.stats.batches += 1
            self.stats.records += len(records)
            delivered += len(records)
        return delivered

    def _invoke(self, records: list[dict[str, Any]]) -> str | None:
        """The sequence number to resume at, or None when the whole batch succeeded."""
        first = records[0]["dynamodb"]["SequenceNumber"]
        try:
            response = self.host.invoke(self.mapping.function_name, {"Records": records})
        except Exception as err:  # the invocation failed: the whole batch again, as on AWS
            self.stats.last_error = f"{type(err).__name__}: {err}"
            return str(first)
        if not self.mapping.report_batch_item_failures or not isinstance(response, dict):
            return None
        failures = [f.get("itemIdentifier") for f in response.get("batchItemFailures") or []]
        sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
        if any(f not in sequences for f in failures):
            return str(first)  # an identifier not in the batch fails the whole batch, as on AWS
        return min(failures, key=sequences.index) if failures else None
