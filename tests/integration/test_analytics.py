"""The metadata export on the deployed stack: the Glue table and Athena reports as deployed into the emulator,
and the table's real stream delivered by the local runtime (from the deployed mapping) to metadata_export,
whose files land in the deployed analytics bucket — upserts as an image goes, a tombstone when it is purged."""

from __future__ import annotations

import gzip
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from scripts import local_worker, stack

pytestmark = pytest.mark.integration
SCHEMA = Path(__file__).resolve().parents[2] / "terraform" / "modules" / "analytics" / "export_schema.json"


def test_the_glue_table_and_the_reports_are_deployed_from_the_schema_and_the_sql_files(
    local_stack: stack.StackConfig, deployed: dict[str, Any]
) -> None:
    analytics = deployed["analytics"]
    table = stack.aws_client(local_stack, "glue").get_table(
        DatabaseName=analytics["glue_database_name"], Name=analytics["glue_table_name"]
    )["Table"]
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    assert columns == [(c["name"], c["type"]) for c in json.loads(SCHEMA.read_text())["columns"]]
    assert [p["Name"] for p in table["PartitionKeys"]] == ["dt", "hour"]
    assert table["Parameters"]["projection.enabled"] == "true"

    athena = stack.aws_client(local_stack, "athena")
    ids = athena.list_named_queries(WorkGroup=analytics["athena_workgroup_name"])["NamedQueryIds"]
    queries = [athena.get_named_query(NamedQueryId=i)["NamedQuery"] for i in ids]  # moto: no BatchGetNamedQuery
    sql_files = {p.stem for p in (SCHEMA.parent / "queries").glob("*.sql") if not p.stem.startswith("_")}
    assert {q["Name"].removeprefix("imgpipe-local-") for q in queries} == sql_files
    assert all(q["Database"] == analytics["glue_database_name"] for q in queries)


def exported_rows(local_stack: stack.StackConfig, bucket: str, prefix: str) -> list[dict[str, Any]]:
    s3 = stack.aws_client(local_stack, "s3")
    rows = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            body = gzip.decompress(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read())
            rows += [json.loads(line) for line in body.splitlines()]
    return rows


def test_the_deployed_stream_mapping_exports_every_change_and_a_tombstone_on_purge(
    local_stack: stack.StackConfig, deployed: dict[str, Any], base_url: str, keys: dict[str, str]
) -> None:
    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed)
    [stream] = worker.stream_pollers  # as the deployment declares it (pipeline output), not written down here
    assert stream.mapping.function_name == deployed["analytics"]["function_name"]
    assert stream.mapping.stream_arn == deployed["metadata_table_stream_arn"]
    processor = next(p for p in worker.pollers if p.mapping.function_name == deployed["processor_function_name"])

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buffer, format="PNG")
    created = requests.put(
        f"{base_url}/v1/images",
        params={"filename": "private-name.png"},
        data=buffer.getvalue(),
        headers={"x-api-key": keys["good"], "Content-Type": "image/png"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    image_id = created.json()["image_id"]
    bucket, prefix = deployed["analytics"]["bucket_name"], deployed["analytics"]["export_prefix"]

    def ours() -> list[dict[str, Any]]:
        return [r for r in exported_rows(local_stack, bucket, prefix) if r["image_id"] == image_id]

    deadline = time.monotonic() + 120
    while [r["status"] for r in ours()][-1:] != ["PROCESSED"]:
        assert time.monotonic() < deadline, (ours(), stream.stats)
        processor.poll_once(wait_s=0)
        stream.poll_once()
    rows = ours()
    assert rows[0]["status"] == "RECEIVED" and {r["event"] for r in rows} == {"upsert"}
    assert rows[-1]["rendition_count"] == 4 and rows[-1]["latency_ms"] >= 0 and rows[-1]["format"] == "png"

    stack.aws_client(local_stack, "dynamodb").delete_item(
        TableName=deployed["metadata_table_name"], Key={"image_id": {"S": image_id}}
    )  # what TTL or the retention audit does
    deadline = time.monotonic() + 60
    while ours()[-1]["event"] != "delete":
        assert time.monotonic() < deadline, (ours(), stream.stats)
        stream.poll_once()
    tombstone = ours()[-1]
    assert tombstone["status"] is None and tombstone["size_bytes"] is None  # which image went, nothing of it

    everything = b"".join(
        gzip.decompress(stack.aws_client(local_stack, "s3").get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
        for o in stack.aws_client(local_stack, "s3").list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    )
    assert b"private-name" not in everything and keys["good"].encode() not in everything
