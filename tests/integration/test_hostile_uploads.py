"""The generated adversarial set (tests/adversarial.py) through the local stack over HTTP: direct PUTs and
presigned POSTs to the emulator, S3 events, the local worker running the deployed mapping, the real processor.

Every file is refused with a specific reason or processed; no 5xx, no item left in PROCESSING, no message in the
DLQ, no orphan object, and the innocent images uploaded among them are processed.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.errors import Reason, ValidationError
from imgpipe.models import ImageStatus
from imgpipe.uploads import DIRECT_UPLOAD_MAX_BYTES
from imgpipe.validation import sniff
from scripts.local import stack
from scripts.local.event_sources.sqs import SqsPoller
from tests import adversarial
from tests.integration.conftest import drain_until

pytestmark = pytest.mark.integration

# Specific reasons: anything but a generic server error.
REASON_CODES = {reason.value for reason in Reason}


def declared_type(data: bytes) -> str:
    try:
        return sniff(data).mime_type
    except ValidationError:
        return "image/png"  # what the file claims to be; the bytes decide


def cases() -> list[adversarial.Case]:
    """The attacks, valid files of every format (innocent neighbours), and a cut-short copy of each."""
    seeds = list(adversarial.seeds())
    cut = [adversarial.Case(f"{c.name}-cut", c.data[: len(c.data) * 2 // 3], frozenset()) for c in seeds]
    return [*adversarial.attacks(), *seeds, *cut]


def test_every_hostile_file_put_directly_is_answered_with_a_reason_or_stored(
    base_url: str, keys: dict[str, str]
) -> None:
    answered: dict[str, tuple[int, str]] = {}
    for case in cases():
        if len(case.data) > DIRECT_UPLOAD_MAX_BYTES:
            continue
        reply = requests.put(
            f"{base_url}/v1/images",
            params={"filename": f"{case.name}.bin"},
            data=case.data,
            headers={"x-api-key": keys["good"], "Content-Type": "image/*"},
            timeout=60,
        )
        body = reply.json()
        answered[case.name] = (reply.status_code, body.get("status") or body["error"]["code"])
    assert len(answered) > 40
    assert all(status < 500 for status, _ in answered.values()), answered
    for name, (status, outcome) in answered.items():
        assert status == 201 or outcome in REASON_CODES, (name, status, outcome)
    # The attacks are refused for their own reasons, the seeds stored (the engine's verdict, over HTTP).
    for case in adversarial.attacks():
        if case.name in answered:
            expected = {r.value for r in case.reasons} if case.reasons else {"RECEIVED"}
            assert answered[case.name][1] in expected, (case.name, answered[case.name])
    for case in adversarial.seeds():
        assert answered[case.name] == (201, "RECEIVED"), (case.name, answered[case.name])


def test_every_hostile_file_behind_a_presigned_post_is_decided_and_its_neighbours_processed(
    base_url: str,
    keys: dict[str, str],
    worker: SqsPoller,
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
) -> None:
    table = MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])
    s3, sqs = stack.aws_client(local_stack, "s3"), stack.aws_client(local_stack, "sqs")
    dead_before = _messages(sqs, deployed["raw_events_dlq_url"])
    uploaded: dict[str, tuple[str, adversarial.Case]] = {}
    for case in cases():
        created = requests.post(
            f"{base_url}/v1/uploads",
            json={
                "filename": f"{case.name}.bin",
                "content_type": declared_type(case.data),
                "size_bytes": len(case.data),
            },
            headers={"x-api-key": keys["good"]},
            timeout=30,
        )
        assert created.status_code == 201, (case.name, created.text)
        form = created.json()["upload"]
        sent = requests.post(form["url"], data=form["fields"], files={"file": ("f", case.data)}, timeout=60)
        assert sent.status_code in (200, 201, 204), (case.name, sent.text)
        uploaded[created.json()["image_id"]] = (form["fields"]["key"], case)

    def all_decided() -> bool:
        return all(
            (item := table.get(image_id)) is not None and item.status in (ImageStatus.PROCESSED, ImageStatus.REJECTED)
            for image_id in uploaded
        )

    drain_until(worker, all_decided, "decided")

    processed = set()
    for image_id, (raw_key, case) in uploaded.items():
        item = table.get(image_id)
        assert item is not None
        raw_versions = s3.list_object_versions(Bucket=deployed["raw_bucket_name"], Prefix=raw_key).get("Versions", [])
        if item.status is ImageStatus.REJECTED:
            assert item.reject_reason in REASON_CODES, (case.name, item.reject_reason)
            if case.reasons:
                assert item.reject_reason in {r.value for r in case.reasons}, (case.name, item.reject_reason)
            assert raw_versions == [], case.name  # no orphan: a refused image's bytes are gone
        else:
            assert not case.reasons, (case.name, "processed, but it is an attack")
            assert len(raw_versions) == 1, case.name
            processed.add(case.name)
    innocent = {case.name for case in adversarial.seeds()}
    assert innocent <= processed  # every valid neighbour processed, none retried away
    assert _messages(sqs, deployed["raw_events_dlq_url"]) == dead_before  # nothing dead-lettered


def _messages(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])
