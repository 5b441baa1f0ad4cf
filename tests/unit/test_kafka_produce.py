"""The producer helper's choices (inline vs claim-check, headers, refusals) with a recording producer."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from scripts.ops.kafka_produce import ProduceError, Staging, image_files, send_file


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, bytes]]] = []

    def produce(self, topic: str, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        self.sent.append((topic, value, dict(headers)))


class RecordingS3:
    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    def put_object(self, **kwargs: Any) -> None:
        self.puts.append(kwargs)


def write_png(path: Path, size: tuple[int, int] = (20, 10)) -> Path:
    buffer = io.BytesIO()
    Image.effect_noise(size, 60).save(buffer, format="PNG")  # noise: the size grows with the pixel count
    path.write_bytes(buffer.getvalue())
    return path


def test_small_files_go_inline_and_large_ones_by_claim_check(tmp_path: Path) -> None:
    producer, s3 = RecordingProducer(), RecordingS3()
    staging = Staging(s3, "raw-bucket", "staging/", "arn:aws:kms:us-east-1:123456789012:key/k")
    small = write_png(tmp_path / "a.png")
    big = write_png(tmp_path / "b.png", (400, 400))

    assert send_file(producer, "images", small, staging=staging, max_inline_bytes=2000).mode == "inline"
    assert send_file(producer, "images", big, staging=staging, max_inline_bytes=2000).mode == "claim-check"

    (_, value, headers), (_, envelope, ref_headers) = producer.sent
    assert value == small.read_bytes() and headers["content-type"] == b"image/png"
    assert (
        b'"s3_uri": "s3://raw-bucket/staging/images/' in envelope and "content-type" not in ref_headers
    )  # the topic's folder
    [put] = s3.puts
    assert put["ServerSideEncryption"] == "aws:kms" and put["Body"] == big.read_bytes()


def test_refusals_are_typed(tmp_path: Path) -> None:
    producer = RecordingProducer()
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    big = write_png(tmp_path / "b.png", (400, 400))

    with pytest.raises(ProduceError, match=r"notes\.png"):
        send_file(producer, "images", text, staging=None)
    with pytest.raises(ProduceError, match="over the inline limit"):
        send_file(producer, "images", big, staging=None, claim_check="never", max_inline_bytes=100)
    with pytest.raises(ProduceError, match="staging bucket"):
        send_file(producer, "images", big, staging=None, claim_check="always")
    assert producer.sent == []


def test_folders_are_searched_for_images_only(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write_png(tmp_path / "sub" / "x.PNG")
    write_png(tmp_path / "y.png")
    (tmp_path / "readme.txt").write_text("hi")
    assert [p.name for p in image_files([tmp_path])] == ["x.PNG", "y.png"]
