"""Image validation: formats by magic bytes, header-only caps, hostile files, typed reasons and HTTP statuses."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from imgpipe.validation import (
    HEADER_BYTES,
    ImageFormat,
    Limits,
    Reason,
    ValidationError,
    clean_filename,
    format_from_mime,
    inspect,
    pixels_in_header,
)
from tests.imaging import animated_gif, handmade_png, png_chunk


def encode(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 60) if mode == "RGB" else 128).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def reason_of(data: bytes, declared: str | None = None, limits: Limits | None = None) -> Reason:
    with pytest.raises(ValidationError) as caught:
        inspect(data, declared, limits)
    return caught.value.reason


@pytest.mark.parametrize(
    ("pil_format", "expected", "mime"),
    [
        ("JPEG", ImageFormat.JPEG, "image/jpeg"),
        ("PNG", ImageFormat.PNG, "image/png"),
        ("WEBP", ImageFormat.WEBP, "image/webp"),
        ("GIF", ImageFormat.GIF, "image/gif"),
        ("AVIF", ImageFormat.AVIF, "image/avif"),
        ("TIFF", ImageFormat.TIFF, "image/tiff"),
    ],
)
def test_every_allowed_format_is_recognised_from_its_bytes(pil_format: str, expected: ImageFormat, mime: str) -> None:
    data = encode(pil_format)
    info = inspect(data, mime)
    assert (info.format, info.width, info.height, info.frames) == (expected, 64, 48, 1)
    assert info.size_bytes == len(data)
    assert inspect(data).format is expected  # no declared type: the bytes alone decide


def test_declared_type_parameters_and_aliases_are_understood() -> None:
    assert format_from_mime("image/JPEG; charset=binary") is ImageFormat.JPEG
    assert format_from_mime("image/jpg") is ImageFormat.JPEG


def test_png_declared_as_jpeg_is_a_type_mismatch_415() -> None:
    with pytest.raises(ValidationError) as caught:
        inspect(encode("PNG"), "image/jpeg")
    assert caught.value.reason is Reason.TYPE_MISMATCH
    assert caught.value.http_status == 415


def test_html_claiming_to_be_jpeg_is_refused_415() -> None:
    with pytest.raises(ValidationError) as caught:
        inspect(b"<!doctype html><html><script>alert(1)</script></html>", "image/jpeg")
    assert caught.value.reason is Reason.UNKNOWN_FORMAT
    assert caught.value.http_status == 415


@pytest.mark.parametrize("declared", ["image/svg+xml", "text/html", "application/octet-stream", ""])
def test_types_outside_the_allowlist_are_refused_before_reading_bytes(declared: str) -> None:
    assert reason_of(encode("PNG"), declared) is Reason.UNSUPPORTED_TYPE


def test_empty_upload_is_400() -> None:
    with pytest.raises(ValidationError) as caught:
        inspect(b"", "image/png")
    assert (caught.value.reason, caught.value.http_status) == (Reason.EMPTY, 400)


def test_size_limit_is_exact_at_the_boundary() -> None:
    data = encode("JPEG")
    assert inspect(data, limits=Limits(max_bytes=len(data))).size_bytes == len(data)
    with pytest.raises(ValidationError) as caught:
        inspect(data, limits=Limits(max_bytes=len(data) - 1))
    assert (caught.value.reason, caught.value.http_status) == (Reason.TOO_LARGE, 413)


def test_thin_strip_is_refused_by_edge_cap_although_its_pixel_count_is_small() -> None:
    strip = encode("PNG", size=(1, 100_000), mode="L")
    assert reason_of(strip) is Reason.DIMENSION_TOO_LARGE


def test_png_bomb_is_refused_from_its_header_without_decoding() -> None:
    bomb = handmade_png(16_000, 16_000)  # 256 MP declared in a ~100-byte file
    assert len(bomb) < 200
    assert reason_of(bomb, "image/png") is Reason.TOO_MANY_PIXELS
    assert reason_of(handmade_png(100_000, 100_000)) is Reason.TOO_MANY_PIXELS
    assert reason_of(handmade_png(20_000, 10)) is Reason.DIMENSION_TOO_LARGE


def test_header_read_does_not_decode_pixels() -> None:
    # A header-valid PNG whose pixel data is garbage passes inspection: only the processor decodes pixels.
    info = inspect(handmade_png(4_000, 3_000))
    assert (info.width, info.height) == (4_000, 3_000)


def test_animated_gif_frames_are_counted_and_capped() -> None:
    assert inspect(animated_gif(12)).frames == 12
    assert reason_of(animated_gif(12), limits=Limits(max_frames=11)) is Reason.TOO_MANY_FRAMES
    assert reason_of(animated_gif(101)) is Reason.TOO_MANY_FRAMES


def test_animated_webp_frames_are_counted() -> None:
    frames = [Image.new("RGB", (8, 8), (i * 40, 0, 0)) for i in range(5)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=50)
    assert inspect(buffer.getvalue(), "image/webp").frames == 5


@pytest.mark.parametrize("pil_format", ["JPEG", "PNG", "WEBP", "GIF", "AVIF"])
def test_truncated_files_are_refused(pil_format: str) -> None:
    data = encode(pil_format, size=(128, 96))
    assert reason_of(data[: len(data) // 2]) in (Reason.TRUNCATED, Reason.CORRUPT)


@pytest.mark.parametrize("pil_format", ["JPEG", "PNG", "GIF", "WEBP"])
def test_data_appended_after_the_image_makes_a_polyglot(pil_format: str) -> None:
    zip_tail = b"PK\x03\x04" + b"\x14\x00" * 20
    assert reason_of(encode(pil_format) + zip_tail) is Reason.POLYGLOT


def test_markup_hidden_in_a_jpeg_comment_is_a_polyglot() -> None:
    data = encode("JPEG", comment=b"<script>fetch('//evil')</script>")
    assert reason_of(data) is Reason.POLYGLOT


def test_garbage_after_a_valid_signature_is_corrupt() -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + png_chunk(b"IEND", b"")
    assert reason_of(data) is Reason.CORRUPT


def outcome(data: bytes, declared: str | None = None) -> Reason | ImageFormat:
    """What inspect() made of the bytes; any exception but ValidationError propagates and fails the test."""
    try:
        return inspect(data, declared).format
    except ValidationError as err:
        return err.reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from([None, "image/png", "image/jpeg", "image/gif"]))
def test_arbitrary_bytes_never_escape_as_anything_but_a_validation_error(data: bytes, declared: str | None) -> None:
    result = outcome(data, declared)
    assert isinstance(result, Reason) or result.value in ("png", "jpeg", "gif", "webp", "tiff", "avif")
    if isinstance(result, Reason):
        assert 400 <= result.http_status < 500


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=512), st.integers(min_value=0, max_value=4000))
def test_mutated_real_images_never_escape_as_anything_but_a_validation_error(noise: bytes, at: int) -> None:
    base = encode("PNG", size=(40, 30))
    at %= len(base)
    result = outcome(base[:at] + noise + base[at + len(noise) :])
    assert isinstance(result, (Reason, ImageFormat))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("C:\\Users\\me\\pic.png", "C:_Users_me_pic.png"),
        ("cafe\u0301.png", "caf\u00e9.png"),  # NFC
        ("bad\x00name\n.gif", "bad_name_.gif"),
        ("rtl\u202egnp.exe", "rtlgnp.exe"),  # bidi override removed
        (".hidden", "hidden"),
    ],
)
def test_file_names_are_made_safe_for_display(raw: str, expected: str) -> None:
    assert clean_filename(raw) == expected


def test_a_file_name_up_to_the_documented_length_is_kept_whole() -> None:
    assert clean_filename("é" * 1024) == "é" * 1024  # 2,048 UTF-8 bytes, nothing cut


@pytest.mark.parametrize("raw", ["a" * 1025, "é" * 1025, "x" * 100_000])
def test_a_longer_file_name_is_refused_not_cut(raw: str) -> None:
    with pytest.raises(ValidationError, match="at most 1024") as caught:
        clean_filename(raw)
    assert caught.value.reason is Reason.BAD_FILENAME


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "AVIF"])
@pytest.mark.parametrize("orientation", [1, 3, 5, 6, 7, 8])
def test_the_upright_size_is_what_the_processor_records(fmt: str, orientation: int) -> None:
    from imgpipe.engine import process

    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "red").save(buffer, fmt, exif=exif.tobytes())
    info = inspect(buffer.getvalue(), f"image/{fmt.lower()}")
    processed = process(buffer.getvalue(), declared_type=f"image/{fmt.lower()}")
    assert info.upright_size == (processed.width, processed.height)
    assert sorted(info.upright_size) == [20, 40]


@pytest.mark.parametrize("block", [b"Exif\x00\x00garbage", b"\x00" * 3, b"Exif\x00\x00MM\x00*\xff\xff\xff\xff"])
def test_an_unreadable_exif_block_reads_as_upright(block: bytes) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "red").save(buffer, "WEBP", exif=block)
    info = inspect(buffer.getvalue(), "image/webp")
    assert (info.orientation, info.upright_size) == (1, (40, 20))


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01", "\u202e"])
def test_file_names_with_nothing_left_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        clean_filename(raw)
    assert caught.value.reason is Reason.BAD_FILENAME


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "AVIF"])
def test_the_header_states_the_pixels_of_every_accepted_format(fmt: str) -> None:
    data = encode(fmt, (1234, 567))
    assert pixels_in_header(data[:HEADER_BYTES]) == 1234 * 567


def test_a_bombs_header_states_its_pixels_without_a_decode() -> None:
    """40 gigapixels declared in a 100-byte PNG: Pillow refuses to open it, and its refusal carries the size."""
    assert pixels_in_header(handmade_png(200_000, 200_000)) == 200_000 * 200_000
    assert pixels_in_header(handmade_png(5_000, 4_000)) == 20_000_000


def test_a_jpeg_whose_metadata_outgrows_the_bytes_read_states_nothing() -> None:
    """Its size (SOF) follows 300 KiB of APP segments: not in the first 256 KiB, so no answer rather than a guess."""
    plain = encode("JPEG", (640, 480))
    segment = b"\xff\xe2" + (65_533).to_bytes(2, "big") + b"\x00" * 65_531  # APP2, the largest a segment gets
    padded = plain[:2] + segment * 5 + plain[2:]
    assert pixels_in_header(padded) == 640 * 480
    assert pixels_in_header(padded[:HEADER_BYTES]) is None


@pytest.mark.parametrize(
    "head",
    [b"", b"hello world", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, b"RIFF\x00\x00\x00\x00WEBP", b"GIF89a"],
)
def test_bytes_that_state_no_size_give_none(head: bytes) -> None:
    assert pixels_in_header(head) is None


@given(st.binary(max_size=512))
@settings(max_examples=200, deadline=None)
def test_any_bytes_give_a_positive_count_or_none(head: bytes) -> None:
    found = pixels_in_header(head)
    assert found is None or found > 0


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from([0x00, 0x01, 0x12, 0xD0, 0xD7, 0xD8, 0xD9, 0xDA, 0xFE, 0xFF, 0xFF, 0xFF]), max_size=400)
)
def test_the_next_marker_is_found_in_the_same_run_of_fill_bytes_as_the_plain_pattern(values: list[int]) -> None:
    """The scan search takes a run's last FF; the plain pattern (FF+ then a marker byte, quadratic in a run) its
    first. The caller steps over fill bytes, so the same marker follows from both."""
    import re

    from imgpipe.structure import _NEXT_MARKER

    data = bytes(values)
    plain = re.compile(rb"\xff+[\x01-\xcf\xd8-\xfe]").search(data)
    found = _NEXT_MARKER.search(data)
    assert (found is None) == (plain is None)
    if found is not None and plain is not None:
        assert plain.start() <= found.start() and set(data[plain.start() : found.start() + 1]) == {0xFF}
        assert found.end() == plain.end()  # the same marker byte
