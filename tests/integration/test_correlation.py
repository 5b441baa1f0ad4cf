"""One image's path, followed in the logs: an upload through the deployed API and an image through the Kafka
topic, each processed and exported by the local runtime running the deployed functions; every structured line
the runtime emits about the image carries its id as the correlation id (the export's file line lists it), and
the lines cover every function on its path. The lines are read from what the functions' execution environments
write, as CloudWatch Logs would receive them."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from confluent_kafka import Producer
from PIL import Image

from scripts.local import gateway as local_gateway
from scripts.local import stack
from scripts.local import worker as local_worker
from scripts.local.lambda_host import FunctionHost
from scripts.ops.kafka_produce import Staging, send_file
from tests.integration.conftest import serving

pytestmark = pytest.mark.integration


class FunctionLogs:
    """Every structured line the functions write (stdout and stderr of their execution environments)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("ab")

    def lines(self) -> list[dict[str, Any]]:
        found = []
        for text in self.path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                line = json.loads(text)
                if isinstance(line, dict) and "service" in line and "message" in line:
                    found.append(line)
        return found


def about(lines: list[dict[str, Any]], image_id: str) -> list[dict[str, Any]]:
    return [line for line in lines if image_id in json.dumps(line)]


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48 + seed, 40), (seed % 255, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_one_images_path_is_followed_by_its_id_through_every_function(
    local_stack: stack.StackConfig, deployed: dict[str, Any], keys: dict[str, str], tmp_path: Path
) -> None:
    logs = FunctionLogs(tmp_path / "functions.log")
    host = FunctionHost(stack.aws_client(local_stack, "lambda"), local_stack, output=logs.file)
    try:
        with serving(local_gateway.build(local_stack, deployed, host=host)) as base_url:
            follow_both_paths(local_stack, deployed, keys, tmp_path, host, base_url, logs)
    finally:
        host.close()
        logs.file.close()


def follow_both_paths(
    local_stack: stack.StackConfig,
    deployed: dict[str, Any],
    keys: dict[str, str],
    tmp_path: Path,
    host: FunctionHost,
    base_url: str,
    logs: FunctionLogs,
) -> None:
    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed, host=host)
    processor = next(p for p in worker.pollers if p.mapping.function_name == deployed["processor_function_name"])
    [kafka] = worker.kafka_pollers
    [stream] = worker.stream_pollers
    table = deployed["metadata_table_name"]
    ddb = stack.aws_client(local_stack, "dynamodb")

    answer = requests.put(
        f"{base_url}/v1/images",
        params={"filename": "followed.png"},
        data=png(1),
        headers={"x-api-key": keys["good"], "Content-Type": "image/png"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    by_api = answer.json()["image_id"]

    path = tmp_path / f"followed-{time.time_ns()}.png"
    path.write_bytes(png(2))
    producer = Producer({"bootstrap.servers": local_stack.kafka_bootstrap, "acks": "all"})
    staging = Staging(
        stack.aws_client(local_stack, "s3"), deployed["raw_bucket_name"], "staging/", deployed["kms_key_arn"]
    )
    send_file(
        producer, deployed["kafka_event_source"]["topic"], path, staging=staging, source_id="it"
    )  # envs/local maps "it" to a tenant
    assert producer.flush(15) == 0

    def status(image_id: str) -> str | None:
        item = ddb.get_item(TableName=table, Key={"image_id": {"S": image_id}}).get("Item")
        return item["status"]["S"] if item else None

    def kafka_image() -> str | None:
        stored = [str(line["image_id"]) for line in logs.lines() if line.get("message") == "record stored"]
        return next((i for i in stored if _filename(ddb, table, i) == path.name), None)

    def exported(image_id: str) -> bool:
        return any(
            line.get("message") == "export file written" and image_id in line.get("image_ids", [])
            for line in logs.lines()
        )

    deadline = time.monotonic() + 120
    by_kafka = None
    while True:
        by_kafka = by_kafka or kafka_image()
        done = [i for i in (by_api, by_kafka) if i and status(i) == "PROCESSED" and exported(i)]
        if by_kafka and len(done) == 2:
            break
        assert time.monotonic() < deadline, (processor.stats, kafka.stats, stream.stats)
        kafka.poll_once()
        processor.poll_once(wait_s=0)
        stream.poll_once()

    lines = logs.lines()
    for image_id, path_services in (
        (by_api, {"upload_api", "image_processor", "metadata_export"}),
        (by_kafka, {"kafka_ingest", "image_processor", "metadata_export"}),
    ):
        mine = about(lines, image_id)
        assert {line["service"] for line in mine} == path_services, [(x["service"], x["message"]) for x in mine]
        for line in mine:
            if line["message"] == "export file written":
                assert image_id in line["image_ids"]  # a file of many images lists each
            else:
                assert line["correlation_id"] == image_id, line
        # ... and nothing about another image carries this one's id as its correlation id
        assert all(image_id in json.dumps(line) for line in lines if line.get("correlation_id") == image_id)


def _filename(ddb: Any, table: str, image_id: str) -> str | None:
    item = ddb.get_item(TableName=table, Key={"image_id": {"S": image_id}}).get("Item")
    return item.get("filename", {}).get("S") if item else None
