"""The metadata export on the deployed stack: the Glue table and Athena reports as deployed into the emulator,
and the table's real stream delivered by the local runtime (from the deployed mapping) to metadata_export,
whose files land in the deployed analytics bucket — upserts as an image goes, a tombstone when it is purged."""

from __future__ import annotations

import gzip
import io
import json
import math
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from boto3.dynamodb.types import TypeDeserializer
from PIL import Image

from scripts.dev import report
from scripts.local import stack
from scripts.local import worker as local_worker
from tests.integration.conftest import exported_rows

pytestmark = pytest.mark.integration
deserialise = TypeDeserializer().deserialize


def plain(value: Any) -> Any:
    """DynamoDB's Decimals as ints, nested."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return int(value)
    return value


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
    # the local report renders them exactly as deployed: only its shim, table and clock differ on DuckDB
    for q in queries:
        name = q["Name"].removeprefix("imgpipe-local-")
        assert q["QueryString"] == report.athena_sql(name, analytics["glue_database_name"]), name


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
    assert {r["tenant_id"] for r in rows} == {"team-a"}  # the key's tenant, on every row
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
    assert tombstone["tenant_id"] == "team-a"  # and whose: the tenant's own report must forget it too

    everything = b"".join(
        gzip.decompress(stack.aws_client(local_stack, "s3").get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
        for o in stack.aws_client(local_stack, "s3").list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    )
    assert b"private-name" not in everything and keys["good"].encode() not in everything


def expected_reports(items: list[dict[str, Any]], now: datetime) -> dict[str, list[dict[str, Any]]]:
    """The five reports computed in Python straight from the table's items: the oracle for DuckDB over exports."""
    live = [i for i in items if int(i["expires_at"]) > now.timestamp()]

    def ms(moment: str) -> int:
        return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)

    def rounded(x: float, places: int = 0) -> float:  # DuckDB's round: half away from zero
        return float(math.floor(x * 10**places + 0.5) / 10**places)

    def rank(values: list[int], p: float) -> int:  # nearest rank, as quantile_disc
        return sorted(values)[math.ceil(p * len(values)) - 1]

    def nulls_last(*values: Any) -> tuple[Any, ...]:
        return tuple((v is None, v if v is not None else "") for v in values)

    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for i in live:
        groups[(i.get("source"), i.get("format"), i.get("status"))].append(i)
    volumes = [
        {"source": s, "format": f, "status": st, "images": len(g), "bytes": sum(int(x["size_bytes"]) for x in g)}
        for (s, f, st), g in sorted(groups.items(), key=lambda kv: nulls_last(*kv[0]))
    ]
    rejected = Counter((i.get("reject_reason"), i["source"]) for i in live if i["status"] == "REJECTED")
    rejections = [
        {"reject_reason": r, "source": s, "images": n}
        for (r, s), n in sorted(rejected.items(), key=lambda kv: (-kv[1], *nulls_last(*kv[0])))
    ]
    latency = []
    for source in sorted({i["source"] for i in live if i["status"] == "PROCESSED"}):
        done = [i for i in live if i["status"] == "PROCESSED" and i["source"] == source]
        waits = [ms(i["processed_at"]) - ms(i["created_at"]) for i in done]
        own = [sum(int(v) for v in i["processing_ms"].values()) for i in done]
        latency.append(
            {
                "source": source,
                "images": len(done),
                "latency_p50_ms": rank(waits, 0.5),
                "latency_p95_ms": rank(waits, 0.95),
                "latency_p99_ms": rank(waits, 0.99),
                "latency_max_ms": max(waits),
                "processing_p50_ms": rank(own, 0.5),
            }
        )
    hourly = Counter((i["created_at"][:13], i["source"]) for i in live)
    volume_by_hour = [{"hour": h, "source": s, "images": n} for (h, s), n in sorted(hourly.items())]
    by_format: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in live:
        if i.get("format") is not None:
            by_format[i["format"]].append(i)
    formats = [
        {
            "format": f,
            "images": len(g),
            "mean_bytes": int(rounded(sum(int(x["size_bytes"]) for x in g) / len(g))),
            "mean_megapixels": rounded(sum(int(x["width"]) * int(x["height"]) for x in g) / len(g) / 1e6, 2),
        }
        for f, g in sorted(by_format.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    return {
        "formats": formats,
        "latency": latency,
        "rejections": rejections,
        "volume_by_hour": volume_by_hour,
        "volumes": volumes,
    }


def test_the_reports_on_duckdb_over_the_deployed_exports_equal_the_table_and_forget_a_purged_image(
    local_stack: stack.StackConfig,
    deployed: dict[str, Any],
    base_url: str,
    keys: dict[str, str],
    tmp_path: Path,
) -> None:
    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed)
    [stream] = worker.stream_pollers
    processor = next(p for p in worker.pollers if p.mapping.function_name == deployed["processor_function_name"])
    ddb = stack.aws_client(local_stack, "dynamodb")
    table, analytics = deployed["metadata_table_name"], deployed["analytics"]

    # The known mix through the deployed API: three images to process, one hostile upload the processor refuses.
    mix = []
    for fmt, size in (("PNG", (64, 48)), ("PNG", (80, 60)), ("JPEG", (120, 90))):
        buffer = io.BytesIO()
        Image.new("RGB", size, (200, 40, 90)).save(buffer, format=fmt)
        answer = requests.put(
            f"{base_url}/v1/images",
            params={"filename": f"mix.{fmt.lower()}"},
            data=buffer.getvalue(),
            headers={"x-api-key": keys["good"], "Content-Type": f"image/{fmt.lower()}"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        mix.append(answer.json()["image_id"])
    hostile = b"\x89PNG\r\n\x1a\n" + b"<html>" * 50
    answer = requests.post(
        f"{base_url}/v1/uploads",
        json={"filename": "x.png", "content_type": "image/png", "size_bytes": len(hostile)},
        headers={"x-api-key": keys["good"]},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    upload = answer.json()["upload"]
    mix.append(answer.json()["image_id"])
    assert requests.post(upload["url"], data=upload["fields"], files={"file": ("x.png", hostile)}, timeout=30).ok

    def items() -> list[dict[str, Any]]:
        pages = ddb.get_paginator("scan").paginate(TableName=table)
        return [plain({k: deserialise(v) for k, v in i.items()}) for p in pages for i in p["Items"]]

    def settle(done: Any) -> None:
        deadline = time.monotonic() + 120
        while not done():
            assert time.monotonic() < deadline, (processor.stats, stream.stats)
            processor.poll_once(wait_s=0)
            stream.poll_once()
        while stream.poll_once():  # everything the stream holds, delivered
            pass

    def final(image_ids: list[str]) -> bool:
        statuses = {i["image_id"]: i["status"] for i in items()}
        return all(statuses.get(i) in ("PROCESSED", "REJECTED") for i in image_ids)

    def reports(tenant: str | None = None) -> dict[str, list[dict[str, Any]]]:
        report.fetch_exports(
            stack.aws_client(local_stack, "s3"), analytics["bucket_name"], analytics["export_prefix"], tmp_path
        )
        return {r.name: r.as_dicts() for r in report.run_reports(report.connect(tmp_path), now, tenant=tenant)}

    def every_tenants_reports_equal_its_items() -> None:
        tenants = {i["tenant_id"] for i in items()}
        assert "team-a" in tenants
        for tenant in tenants:
            assert reports(tenant) == expected_reports([i for i in items() if i["tenant_id"] == tenant], now), tenant

    settle(lambda: final(mix))
    now = datetime.now(UTC)
    before = reports()
    assert before == expected_reports(items(), now)
    every_tenants_reports_equal_its_items()
    ours = {i["image_id"]: i for i in items() if i["image_id"] in mix}
    assert sorted(i["status"] for i in ours.values()) == ["PROCESSED", "PROCESSED", "PROCESSED", "REJECTED"]
    assert any(r["source"] == "api" and r["images"] >= 3 for r in before["latency"])

    # Purged as TTL or the audit would: its tombstone takes it out of every report.
    gone = mix[0]
    ddb.delete_item(TableName=table, Key={"image_id": {"S": gone}})
    settle(lambda: True)
    after = reports()
    assert after == expected_reports(items(), now)
    every_tenants_reports_equal_its_items()

    def png_processed(result: dict[str, list[dict[str, Any]]]) -> int:
        return sum(r["images"] for r in result["volumes"] if (r["format"], r["status"]) == ("png", "PROCESSED"))

    assert png_processed(after) == png_processed(before) - 1
    assert sum(r["images"] for r in after["volume_by_hour"]) == sum(r["images"] for r in before["volume_by_hour"]) - 1
