"""image_processor handler with SQS-shaped batches of S3 notifications, against in-process moto: partial batch
failures, ignored test events, malformed messages, metrics."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from moto import mock_aws
from PIL import Image

from imgpipe.adapters.metadata_table import MetadataTable
from imgpipe.config import ConfigError
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, Source
from scripts.local.events import s3_object_created, sqs_event
from scripts.local.lambda_host import LocalContext, load_handler
from tests.emf import emitted_metrics
from tests.stores import image_table, processor_environment

RAW, PROCESSED, TABLE = "raw-bucket", "processed-bucket", "images"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:raw-events"


@pytest.fixture
def function(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    base = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "imgpipe",
        "AWS_LAMBDA_FUNCTION_NAME": "image_processor",
    }
    for name, value in base.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in (RAW, PROCESSED):
            s3.create_bucket(Bucket=bucket)
        image_table(boto3.client("dynamodb"), TABLE)
        kms_key_arn = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
        settings = processor_environment(RAW, PROCESSED, TABLE, kms_key_arn)  # no GuardDuty scan: tests set it
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        module = load_handler("image_processor")
        module.processor.cache_clear()
        yield module


def stored_image(data: bytes) -> ImageItem:
    image_id = new_image_id()
    item = ImageItem.new(image_id, Source.API, ImageStatus.RECEIVED, f"raw/{image_id}")
    MetadataTable(boto3.client("dynamodb"), TABLE).put_new(item)
    boto3.client("s3").put_object(Bucket=RAW, Key=item.raw_key, Body=data)
    return item


def png(size: tuple[int, int] = (200, 100)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def batch(*bodies: Any) -> dict[str, Any]:
    messages = [
        {"MessageId": f"m{n}", "ReceiptHandle": f"r{n}", "Body": b if isinstance(b, str) else json.dumps(b)}
        for n, b in enumerate(bodies)
    ]
    return sqs_event(messages, QUEUE_ARN, "us-east-1")


def invoke(function: ModuleType, event: dict[str, Any]) -> list[str]:
    response = function.handler(event, LocalContext("image_processor", timeout_s=30))
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def status_of(image_id: str) -> ImageStatus | None:
    item = MetadataTable(boto3.client("dynamodb"), TABLE).get(image_id)
    return item.status if item else None


def test_only_the_poison_message_of_a_batch_fails(function: ModuleType) -> None:
    good = stored_image(png())
    failed = invoke(
        function,
        batch(
            s3_object_created(RAW, good.raw_key, 1),
            "not json",
            {"Records": "not a list"},
            {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": RAW},
        ),
    )
    assert failed == ["m1", "m2"]
    assert status_of(good.image_id) is ImageStatus.PROCESSED
    rendition = boto3.client("s3").get_object(Bucket=PROCESSED, Key=f"renditions/{good.image_id}/small.png")
    with Image.open(io.BytesIO(rendition["Body"].read())) as out:
        assert out.size == (64, 32)


def test_events_of_another_bucket_fail_and_other_event_types_are_ignored(function: ModuleType) -> None:
    item = stored_image(png())
    failed = invoke(
        function,
        batch(
            s3_object_created("someone-elses-bucket", item.raw_key, 1),
            s3_object_created(RAW, item.raw_key, 1, event_name="ObjectRemoved:Delete"),
        ),
    )
    assert failed == ["m0"]
    assert status_of(item.image_id) is ImageStatus.RECEIVED


def test_a_hostile_image_is_rejected_not_retried(function: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    item = stored_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    capsys.readouterr()

    assert invoke(function, batch(s3_object_created(RAW, item.raw_key, 72))) == []

    assert status_of(item.image_id) is ImageStatus.REJECTED
    assert emitted_metrics(capsys.readouterr().out) == [
        ("ImagesRejected", {"service": "image_processor", "reason": "corrupt"}, [1.0])  # no PNG chunk at all
    ]


def test_keys_arrive_url_decoded_and_outside_prefix_is_skipped(function: ModuleType) -> None:
    boto3.client("s3").put_object(Bucket=RAW, Key="uploads/a b.png", Body=png())
    assert invoke(function, batch(s3_object_created(RAW, "uploads/a b.png", 1))) == []
    assert function.object_keys(_record(RAW, "raw/x y+z")) == ["raw/x y+z"]


def test_processed_images_are_counted(function: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = stored_image(png()), stored_image(png((30, 90)))
    capsys.readouterr()
    invoke(function, batch(s3_object_created(RAW, first.raw_key, 1), s3_object_created(RAW, second.raw_key, 1)))
    metrics = emitted_metrics(capsys.readouterr().out)
    assert [m for m in metrics if m[0] == "ImagesProcessed"] == [
        ("ImagesProcessed", {"service": "image_processor"}, [1.0, 1.0])
    ]
    assert len(next(m for m in metrics if m[0] == "ProcessingTime")[2]) == 2


def test_a_transient_failure_fails_the_record_for_a_retry(
    function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = stored_image(png())
    monkeypatch.setenv("PROCESSED_BUCKET", "bucket-that-does-not-exist")
    function.processor.cache_clear()

    with_a_good_one = batch(s3_object_created(RAW, item.raw_key, 1), {"Event": "s3:TestEvent"})
    assert invoke(function, with_a_good_one) == ["m0"]
    assert status_of(item.image_id) is ImageStatus.PROCESSING  # resumed by the retry
    # Every record failed: Powertools fails the whole invocation, and the queue redelivers the batch.
    with pytest.raises(BatchProcessingError):
        invoke(function, batch(s3_object_created(RAW, item.raw_key, 1)))

    monkeypatch.setenv("PROCESSED_BUCKET", PROCESSED)
    function.processor.cache_clear()
    assert invoke(function, batch(s3_object_created(RAW, item.raw_key, 1))) == []
    assert status_of(item.image_id) is ImageStatus.PROCESSED


def _record(bucket: str, key: str) -> SQSRecord:
    return SQSRecord(batch(s3_object_created(bucket, key, 1))["Records"][0])


def tag(key: str, status: str) -> None:
    boto3.client("s3").put_object_tagging(
        Bucket=RAW, Key=key, Tagging={"TagSet": [{"Key": "GuardDutyMalwareScanStatus", "Value": status}]}
    )


def test_a_scan_required_object_is_retried_until_guardduty_tags_it_and_a_threat_is_refused(
    function: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MALWARE_SCAN", "required")
    function.processor.cache_clear()
    clean, infected = stored_image(png()), stored_image(png((40, 40)))
    both = batch(s3_object_created(RAW, clean.raw_key, 1), s3_object_created(RAW, infected.raw_key, 1))
    with pytest.raises(BatchProcessingError):  # neither scanned yet: the whole batch comes back
        invoke(function, both)
    assert status_of(clean.image_id) is ImageStatus.RECEIVED and status_of(infected.image_id) is ImageStatus.RECEIVED

    tag(clean.raw_key, "NO_THREATS_FOUND")
    tag(infected.raw_key, "THREATS_FOUND")
    capsys.readouterr()
    assert invoke(function, both) == []
    assert status_of(clean.image_id) is ImageStatus.PROCESSED and status_of(infected.image_id) is ImageStatus.REJECTED
    assert ("ImagesRejected", {"service": "image_processor", "reason": "malware"}, [1.0]) in emitted_metrics(
        capsys.readouterr().out
    )
    assert boto3.client("s3").list_object_versions(Bucket=RAW, Prefix=infected.raw_key).get("Versions", []) == []


def test_an_unknown_malware_scan_setting_is_an_error_not_a_silent_default(
    function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MALWARE_SCAN", "maybe")
    function.processor.cache_clear()
    with pytest.raises(ValueError, match="maybe"):
        function.processor()


def failure_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The batch processor's one warning per failed message (it logs through the function's logger)."""
    return [r for r in caplog.records if r.levelno == logging.WARNING and r.exc_info]


def test_an_image_without_time_left_for_its_budget_is_released_not_started(
    function: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    item = stored_image(png())
    event = batch(s3_object_created(RAW, item.raw_key, 1), {"Event": "s3:TestEvent"})
    # A 10 s engine budget plus 5 s for S3 and DynamoDB: 14 s left is not enough to start the image.
    response = function.handler(event, LocalContext("image_processor", timeout_s=14))
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["m0"]
    assert status_of(item.image_id) is ImageStatus.RECEIVED  # untouched: another invocation takes it whole
    [warning] = failure_warnings(caplog)
    assert warning.exc_info is not None and warning.exc_info[0] is function.NoTimeLeft
    left = re.search(r"([0-9.]+) s left", str(warning.exc_info[1]))
    assert left and 13.0 <= float(left[1]) <= 14.0  # the context counts the 14 s down as Lambda's does

    assert function.handler(event, LocalContext("image_processor", timeout_s=16))["batchItemFailures"] == []
    assert status_of(item.image_id) is ImageStatus.PROCESSED


def test_every_failed_message_is_logged_once_with_its_reason(
    function: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    good = stored_image(png())
    failed = invoke(function, batch("not json", s3_object_created(RAW, good.raw_key, 1)))
    assert failed == ["m0"]
    [warning] = failure_warnings(caplog)
    assert warning.exc_info is not None and warning.exc_info[0] is function.MalformedMessage
    assert "not JSON" in str(warning.exc_info[1])


def test_an_expensive_attack_is_rejected_and_its_batch_neighbours_are_processed(
    function: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    from tests import adversarial

    attack, cut_short, good = (
        stored_image(adversarial.tiff_pages(50_000)),
        stored_image(adversarial.tiff_cut_after_first_page()),
        stored_image(png()),
    )
    assert invoke(function, batch(*(s3_object_created(RAW, i.raw_key, 1) for i in (attack, cut_short, good)))) == []
    table = MetadataTable(boto3.client("dynamodb"), TABLE)
    reasons = [table.get(i.image_id).reject_reason for i in (attack, cut_short)]  # type: ignore[union-attr]
    assert reasons == ["too_many_frames", "truncated"]
    assert status_of(good.image_id) is ImageStatus.PROCESSED
    handled = [r for r in caplog.records if r.getMessage() == "object handled"]
    assert [(r.image_id, r.reason) for r in handled] == [  # type: ignore[attr-defined]
        (attack.image_id, "too_many_frames"),
        (cut_short.image_id, "truncated"),
        (good.image_id, None),
    ]


def test_only_the_version_an_event_names_is_processed_and_later_ones_are_deleted(function: ModuleType) -> None:
    """Bytes written under an image's key after the fact (an upload form used twice) never become the image:
    tags and bytes come from the event's version, and any other version is deleted."""
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=RAW, VersioningConfiguration={"Status": "Enabled"})
    item = stored_image(png((200, 100)))
    first = s3.head_object(Bucket=RAW, Key=item.raw_key)["VersionId"]
    # A second object under the same key before the first event is handled: the current version is now it.
    second = s3.put_object(Bucket=RAW, Key=item.raw_key, Body=png((50, 50)))["VersionId"]

    assert invoke(function, batch(s3_object_created(RAW, item.raw_key, 1, version_id=first))) == []
    stored = MetadataTable(boto3.client("dynamodb"), TABLE).get(item.image_id)
    assert stored is not None and stored.status is ImageStatus.PROCESSED
    assert (stored.width, stored.height, stored.raw_version) == (200, 100, first)  # the first bytes, pinned

    assert invoke(function, batch(s3_object_created(RAW, item.raw_key, 1, version_id=second))) == []
    versions = s3.list_object_versions(Bucket=RAW, Prefix=item.raw_key).get("Versions", [])
    assert [v["VersionId"] for v in versions] == [first]  # the later version is gone
    again = MetadataTable(boto3.client("dynamodb"), TABLE).get(item.image_id)
    assert again == stored  # and the image untouched


def test_the_malware_verdict_is_read_from_the_events_version(
    function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MALWARE_SCAN", "required")
    function.processor.cache_clear()
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=RAW, VersioningConfiguration={"Status": "Enabled"})
    item = stored_image(png())
    first = s3.head_object(Bucket=RAW, Key=item.raw_key)["VersionId"]
    s3.put_object_tagging(
        Bucket=RAW,
        Key=item.raw_key,
        VersionId=first,
        Tagging={"TagSet": [{"Key": "GuardDutyMalwareScanStatus", "Value": "THREATS_FOUND"}]},
    )
    # A clean-looking object replaces it before the event is handled: its verdict must not stand for the first.
    s3.put_object(Bucket=RAW, Key=item.raw_key, Body=png())
    tag(item.raw_key, "NO_THREATS_FOUND")

    assert invoke(function, batch(s3_object_created(RAW, item.raw_key, 1, version_id=first))) == []
    stored = MetadataTable(boto3.client("dynamodb"), TABLE).get(item.image_id)
    assert stored is not None and (stored.status, stored.reject_reason) == (ImageStatus.REJECTED, "malware")


WORKERS_QUEUE = "large-images"


@pytest.fixture
def split_function(function: ModuleType, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, str]:
    """The function as the split mode deploys it: objects of 2,000 bytes or more go to the workers' queue."""
    queue_url = boto3.client("sqs").create_queue(QueueName=WORKERS_QUEUE)["QueueUrl"]
    monkeypatch.setenv("LARGE_IMAGE_QUEUE_URL", queue_url)
    monkeypatch.setenv("LARGE_IMAGE_MIN_BYTES", "2000")
    module = load_handler("image_processor")
    module.processor.cache_clear()
    return module, queue_url


def waiting(queue_url: str) -> list[dict[str, Any]]:
    response = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def test_split_mode_passes_large_objects_on_unchanged_and_processes_small_ones(
    split_function: tuple[ModuleType, str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    function, queue_url = split_function
    small, large = stored_image(png((20, 10))), stored_image(png((200, 100)))
    small_body = s3_object_created(RAW, small.raw_key, 1999)
    large_body = s3_object_created(RAW, large.raw_key, 2000)
    capsys.readouterr()

    assert invoke(function, batch(small_body, large_body)) == []

    assert status_of(small.image_id) is ImageStatus.PROCESSED
    assert status_of(large.image_id) is ImageStatus.RECEIVED  # left untouched for the workers
    passed = waiting(queue_url)
    assert [json.loads(m["Body"]) for m in passed] == [large_body]
    assert ("ImagesPassedToWorkers", {"service": "image_processor"}, [1.0]) in emitted_metrics(capsys.readouterr().out)
    [line] = [r for r in caplog.records if r.getMessage() == "object passed on to the container workers"]
    assert (line.image_id, line.size) == (large.image_id, 2000)  # type: ignore[attr-defined]


def test_a_message_from_the_workers_queue_is_processed_whatever_its_size(
    split_function: tuple[ModuleType, str],
) -> None:
    function, queue_url = split_function
    large = stored_image(png((200, 100)))
    from_workers_queue = sqs_event(
        [{"MessageId": "w0", "ReceiptHandle": "r", "Body": json.dumps(s3_object_created(RAW, large.raw_key, 10**6))}],
        f"arn:aws:sqs:us-east-1:123456789012:{WORKERS_QUEUE}",
        "us-east-1",
    )
    assert invoke(function, from_workers_queue) == []
    assert status_of(large.image_id) is ImageStatus.PROCESSED
    assert waiting(queue_url) == []  # never sent round again


def test_a_large_object_whose_hand_over_fails_is_retried_and_nothing_is_processed(
    split_function: tuple[ModuleType, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    function, queue_url = split_function
    boto3.client("sqs").delete_queue(QueueUrl=queue_url)
    large = stored_image(png((200, 100)))
    with pytest.raises(BatchProcessingError):  # its only record failed: the batch comes back
        invoke(function, batch(s3_object_created(RAW, large.raw_key, 5000)))
    assert status_of(large.image_id) is ImageStatus.RECEIVED


@pytest.fixture
def pixel_split_function(
    split_function: tuple[ModuleType, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[ModuleType, str]:
    """The split mode with a pixel rule as well: 40,000 pixels or more go to the workers whatever the size."""
    monkeypatch.setenv("LARGE_IMAGE_MIN_PIXELS", "40000")
    module = load_handler("image_processor")
    module.processor.cache_clear()
    return module, split_function[1]


def test_a_small_file_of_many_pixels_is_passed_on_by_its_header(
    pixel_split_function: tuple[ModuleType, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A flat PNG of 400x100 is a few hundred bytes (under the 2,000-byte rule) but 40,000 pixels: the header
    says so, from a ranged read; one pixel fewer stays with the function."""
    function, queue_url = pixel_split_function
    many, fewer = stored_image(png((400, 100))), stored_image(png((399, 100)))
    assert len(png((400, 100))) < 2000
    many_body = s3_object_created(RAW, many.raw_key, 500)
    assert invoke(function, batch(many_body, s3_object_created(RAW, fewer.raw_key, 500))) == []
    assert status_of(many.image_id) is ImageStatus.RECEIVED and status_of(fewer.image_id) is ImageStatus.PROCESSED
    assert [json.loads(m["Body"]) for m in waiting(queue_url)] == [many_body]
    [line] = [r for r in caplog.records if r.getMessage() == "object passed on to the container workers"]
    assert (line.image_id, line.pixels) == (many.image_id, 40000)  # type: ignore[attr-defined]


def test_a_header_that_states_no_size_leaves_the_object_to_the_function(
    pixel_split_function: tuple[ModuleType, str],
) -> None:
    """Not an image (or a header beyond the bytes read): the function takes it, and rejects what it must."""
    function, queue_url = pixel_split_function
    text = stored_image(b"<html>not an image</html>")
    assert invoke(function, batch(s3_object_created(RAW, text.raw_key, 25))) == []
    assert status_of(text.image_id) is ImageStatus.REJECTED
    assert waiting(queue_url) == []


@pytest.mark.parametrize("state", ["deleted", "empty"])
def test_an_object_gone_or_empty_before_routing_is_left_to_the_function(
    pixel_split_function: tuple[ModuleType, str], state: str
) -> None:
    """Nothing to read a header from (S3 answers NoSuchKey, or InvalidRange for zero bytes): no failure, no retry;
    the function's own outcome for such an object stands, as without a pixel rule."""
    function, queue_url = pixel_split_function
    item = stored_image(png((20, 10)))
    if state == "deleted":
        boto3.client("s3").delete_object(Bucket=RAW, Key=item.raw_key)
    else:
        boto3.client("s3").put_object(Bucket=RAW, Key=item.raw_key, Body=b"")
    assert invoke(function, batch(s3_object_created(RAW, item.raw_key, 0))) == []
    assert waiting(queue_url) == []


def test_the_size_rule_needs_no_read_even_with_a_pixel_rule(
    pixel_split_function: tuple[ModuleType, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    function, queue_url = pixel_split_function
    large = stored_image(png((200, 100)))
    monkeypatch.setattr(function, "header_pixels", lambda _created: pytest.fail("read an object the size decides"))
    assert invoke(function, batch(s3_object_created(RAW, large.raw_key, 5000))) == []
    assert len(waiting(queue_url)) == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"LARGE_IMAGE_QUEUE_URL": "https://sqs.example/q"}, "LARGE_IMAGE_MIN_BYTES is not"),
        ({"LARGE_IMAGE_QUEUE_URL": "https://sqs.example/q", "LARGE_IMAGE_MIN_BYTES": "4MiB"}, "whole number"),
        ({"LARGE_IMAGE_QUEUE_URL": "https://sqs.example/q", "LARGE_IMAGE_MIN_BYTES": "0"}, "whole number"),
        (
            {
                "LARGE_IMAGE_QUEUE_URL": "https://sqs.example/q",
                "LARGE_IMAGE_MIN_BYTES": "1",
                "LARGE_IMAGE_MIN_PIXELS": "24MP",
            },
            "whole number",
        ),
        ({"LARGE_IMAGE_MIN_PIXELS": "24000000"}, "LARGE_IMAGE_QUEUE_URL is not"),
    ],
)
def test_a_broken_split_setting_fails_the_cold_start(
    function: ModuleType, monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], message: str
) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_handler("image_processor")


def test_an_object_without_its_item_yet_is_delivered_again_when_the_processor_says(
    function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not after the queue's 360 s visibility timeout: the function sets its message's own (5 s while the
    object is fresh; 1 s here), and the item written meanwhile is processed on that delivery."""
    import imgpipe.processing

    monkeypatch.setattr(imgpipe.processing, "FRESH_RETRY", timedelta(seconds=1))
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="raw-events", Attributes={"VisibilityTimeout": "360"})["QueueUrl"]
    image_id = new_image_id()
    item = ImageItem.new(image_id, Source.API, ImageStatus.RECEIVED, f"raw/{image_id}")
    boto3.client("s3").put_object(Bucket=RAW, Key=item.raw_key, Body=png())  # the upload's first write
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(s3_object_created(RAW, item.raw_key, 1)))
    received = sqs.receive_message(QueueUrl=queue_url)["Messages"]

    with pytest.raises(BatchProcessingError):  # its only record failed: the invocation fails, as on AWS
        invoke(function, sqs_event(received, QUEUE_ARN, "us-east-1"))
    assert status_of(image_id) is None and "Messages" not in sqs.receive_message(QueueUrl=queue_url)

    MetadataTable(boto3.client("dynamodb"), TABLE).put_new(item)  # the upload's second write
    time.sleep(1.2)
    again = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert [m["MessageId"] for m in again] == [received[0]["MessageId"]]
    assert invoke(function, sqs_event(again, QUEUE_ARN, "us-east-1")) == []
    assert status_of(image_id) is ImageStatus.PROCESSED


def test_header_reads_and_processing_share_one_s3_client_across_invocations(
    pixel_split_function: tuple[ModuleType, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each client costs its set-up and a connection (a TLS handshake on AWS): the warm function makes one."""
    function, queue_url = pixel_split_function
    made: list[Any] = []
    make = function.s3_client

    def counted() -> Any:
        made.append(make())
        return made[-1]

    monkeypatch.setattr(function, "s3_client", counted)
    for _ in range(3):
        images = [stored_image(png((400, 100))), stored_image(png((20, 10)))]
        bodies = [s3_object_created(RAW, image.raw_key, 500) for image in images]
        assert invoke(function, batch(*bodies)) == []
        assert status_of(images[1].image_id) is ImageStatus.PROCESSED  # read by its header, then processed
    assert len(made) == 1
    assert len(waiting(queue_url)) == 3
