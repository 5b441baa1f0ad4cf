"""Hostile and unusual images through the engine (inspect + process): bounded work, exact reasons, faithful
output, and nothing but ValidationError ever leaving it.

The files come from tests/adversarial.py, built here; the properties run over thousands of truncations and
mutations of valid files of every allowlisted format. Times are measured by `make bench`, not asserted here:
what is asserted is that the work is bounded by structure (how far a parser is allowed to walk) and that the
deadline is enforced.
"""

from __future__ import annotations

import io
import struct
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, TiffImagePlugin

from imgpipe import engine
from imgpipe.errors import Reason, ValidationError
from imgpipe.renditions import DEFAULT_RENDITIONS, OutputFormat
from imgpipe.structure import MAX_CHUNKS, MAX_GIF_SUB_BLOCKS, MAX_JPEG_FILL_BYTES, MAX_JPEG_MARKERS, MAX_JPEG_SCANS
from imgpipe.validation import Limits, inspect, verify
from tests import adversarial
from tests.imaging import encode

SEEDS = {case.name: case for case in adversarial.seeds()}


def refusal(data: bytes, **kwargs: object) -> ValidationError | None:
    """process()'s refusal, or None when it processed the image; any other exception fails the test."""
    try:
        engine.process(data, **kwargs)  # type: ignore[arg-type]
    except ValidationError as err:
        return err
    return None


def reason_of(data: bytes, **kwargs: object) -> Reason | None:
    err = refusal(data, **kwargs)
    return None if err is None else err.reason


# ------------------------------------------------------------------------- the generated attack set


@pytest.mark.parametrize("case", adversarial.attacks(), ids=lambda case: case.name)
def test_every_attack_is_refused_for_its_reason_or_processed(case: adversarial.Case) -> None:
    reason = reason_of(case.data)
    if case.reasons:
        assert reason in case.reasons, refusal(case.data)
    else:
        assert reason is None, refusal(case.data)


@pytest.mark.parametrize("case", adversarial.seeds(), ids=lambda case: case.name)
def test_every_seed_is_a_valid_image(case: adversarial.Case) -> None:
    assert reason_of(case.data) is None, refusal(case.data)


@pytest.mark.parametrize("case", adversarial.seeds(), ids=lambda case: case.name)
def test_every_structural_truncation_is_refused_with_a_validation_error(case: adversarial.Case) -> None:
    cuts = list(adversarial.truncations(case))
    assert len(cuts) > 20  # each seed yields many boundaries to cut at
    for data in cuts:
        err = refusal(data)
        # A cut may leave a shorter valid file (a GIF after a whole frame, a TIFF's last strip); otherwise it is
        # refused, and only ever as a ValidationError (refusal() lets anything else fail the test).
        if err is not None:
            assert 400 <= err.http_status < 500


def _mutate(data: bytes, kind: str, at: int, payload: bytes, repeat: int) -> bytes:
    at %= len(data)
    if kind == "flip":
        return data[:at] + bytes(b ^ 0xFF for b in payload[:4] or b"\x01") + data[at + len(payload[:4] or b"x") :]
    if kind == "overwrite":
        return data[:at] + payload + data[at + len(payload) :]
    if kind == "insert":
        return data[:at] + payload + data[at:]
    if kind == "duplicate":
        chunk = data[at : at + max(1, len(payload))]
        return data[:at] + chunk * repeat + data[at:]
    donor = SEEDS[sorted(SEEDS)[repeat % len(SEEDS)]].data  # splice: a piece of another format's file
    return data[:at] + donor[len(payload) % len(donor) :][: 64 + len(payload)] + data[at:]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    kind=st.sampled_from(["flip", "overwrite", "insert", "duplicate", "splice"]),
    at=st.integers(min_value=0, max_value=1 << 20),
    payload=st.binary(max_size=48),
    repeat=st.integers(min_value=1, max_value=40),
)
def test_mutated_images_of_every_format_never_escape_as_anything_but_a_validation_error(
    seed: str, kind: str, at: int, payload: bytes, repeat: int
) -> None:
    data = _mutate(SEEDS[seed].data, kind, at, payload, repeat)
    err = refusal(data)
    assert err is None or isinstance(err.reason, Reason)


# ------------------------------------------------------------------------- 1. bounded work


def test_tiff_pages_are_counted_without_pillow_seeking_through_them(monkeypatch: pytest.MonkeyPatch) -> None:
    seeks: list[int] = []
    original = TiffImagePlugin.TiffImageFile._seek

    def counting_seek(self: TiffImagePlugin.TiffImageFile, frame: int) -> None:
        seeks.append(frame)
        original(self, frame)

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "_seek", counting_seek)
    assert reason_of(adversarial.tiff_pages(50_000)) is Reason.TOO_MANY_FRAMES
    assert seeks == []  # refused by the page walk, before Pillow opened it
    assert reason_of(adversarial.tiff_pages(100)) is None
    assert max(seeks) == 0  # a valid 100-page TIFF: Pillow reads its first page only


def test_a_tiff_page_count_stops_at_the_cap_plus_one() -> None:
    assert inspect(adversarial.tiff_pages(7), limits=Limits(max_frames=7)).frames == 7
    with pytest.raises(ValidationError) as refused:
        inspect(adversarial.tiff_pages(10_000), limits=Limits(max_frames=7))
    assert refused.value.reason is Reason.TOO_MANY_FRAMES


@pytest.mark.parametrize(
    ("build", "cap"),
    [
        (adversarial.progressive_jpeg_with_scans, MAX_JPEG_SCANS),
        (adversarial.jpeg_with_markers, MAX_JPEG_MARKERS),
        (adversarial.png_with_chunks, MAX_CHUNKS),
        (adversarial.avif_with_boxes, MAX_CHUNKS),
        (adversarial.jpeg_with_fill_before_a_marker, MAX_JPEG_FILL_BYTES),
        (adversarial.gif_with_sub_blocks, MAX_GIF_SUB_BLOCKS),
        (adversarial.gif_with_extensions, MAX_CHUNKS),
    ],
    ids=["jpeg-scans", "jpeg-markers", "png-chunks", "avif-boxes", "jpeg-fill-bytes", "gif-sub-blocks", "gif-blocks"],
)
def test_structure_counts_are_capped_exactly(build: Callable[[int], bytes], cap: int) -> None:
    assert reason_of(build(cap + 1)) is Reason.TOO_EXPENSIVE
    assert reason_of(build(cap // 2)) is None  # a valid file with half the cap's worth of structure added


def test_a_spent_deadline_stops_processing_as_too_expensive() -> None:
    data = SEEDS["jpeg"].data
    err = refusal(data, deadline=time.monotonic() - 1)
    assert err is not None and err.reason is Reason.TOO_EXPENSIVE
    assert "stopped after validate" in err.message
    assert reason_of(data, deadline=time.monotonic() + 60) is None


def test_the_budget_of_limits_applies_without_a_caller_deadline() -> None:
    big = encode(Image.radial_gradient("L").resize((3000, 2000)).convert("RGB"), "PNG")
    err = refusal(big, limits=Limits(max_seconds=0.001))
    assert err is not None and err.reason is Reason.TOO_EXPENSIVE
    assert reason_of(big, limits=Limits(max_seconds=60)) is None


# ------------------------------------------------------------------------- 2. exceptions that escaped


def test_a_multipage_tiff_cut_short_after_page_one_is_truncated() -> None:
    assert reason_of(adversarial.tiff_cut_after_first_page()) is Reason.TRUNCATED


@pytest.mark.parametrize(
    ("last_next", "reason"),
    [("loop", Reason.CORRUPT), ("past-end", Reason.TRUNCATED), ("pixels", Reason.TRUNCATED)],
)
def test_broken_tiff_page_chains_are_refused(last_next: str, reason: Reason) -> None:
    assert reason_of(adversarial.tiff_pages(3, last_next=last_next)) is reason


def test_a_tiff_page_without_dimensions_is_corrupt() -> None:
    assert reason_of(adversarial.tiff_pages(3, drop_width_on=2)) is Reason.CORRUPT


def test_an_unexpected_decoder_error_becomes_a_corrupt_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_load(self: Image.Image) -> None:
        raise TypeError("a decoder bug")

    monkeypatch.setattr(Image.Image, "load", broken_load)
    err = refusal(SEEDS["png-rgba"].data)
    assert err is not None and err.reason is Reason.CORRUPT
    assert "TypeError: a decoder bug" in err.message  # the cause stays visible in the stored reject message


def test_an_unexpected_header_error_becomes_a_corrupt_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_open(*_args: object, **_kwargs: object) -> None:
        raise KeyError("a parser bug")

    monkeypatch.setattr(Image, "open", broken_open)
    with pytest.raises(ValidationError) as refused:
        inspect(SEEDS["gif-animated"].data)
    assert refused.value.reason is Reason.CORRUPT


# ------------------------------------------------------------------------- 3. exact reasons


def test_a_truncated_camera_jpeg_is_truncated_not_a_polyglot() -> None:
    """The EXIF thumbnail's own end-of-image marker must not be taken for the image's."""
    photo = adversarial.jpeg_with_exif_thumbnail()
    assert reason_of(photo) is None
    for cut in (len(photo) - 2, len(photo) - 300, len(photo) // 2):
        assert reason_of(photo[:cut]) is Reason.TRUNCATED


def test_appended_data_is_a_polyglot_even_when_it_ends_in_an_end_of_image_marker() -> None:
    photo = adversarial.jpeg_with_exif_thumbnail()
    assert reason_of(photo + b"PK\x03\x04 a zip archive ...\xff\xd9") is Reason.POLYGLOT
    assert reason_of(photo + b"\xff\xd8\xff not really a second picture \xff\xd9") is Reason.POLYGLOT


def test_a_multi_picture_jpeg_is_accepted() -> None:
    """Phones append previews and depth maps as complete JPEG streams after the primary image (MPF)."""
    primary = adversarial.jpeg_with_exif_thumbnail()
    preview = encode(Image.new("RGB", (32, 24), (9, 9, 9)), "JPEG")
    assert reason_of(primary + preview + preview) is None


@pytest.mark.parametrize("case", adversarial.seeds(), ids=lambda case: case.name)
@pytest.mark.parametrize("padding", [b"\n", b"\r\n", b"\x00\x00\x00", b" \t\n"], ids=repr)
def test_every_format_tolerates_the_same_trailing_padding(case: adversarial.Case, padding: bytes) -> None:
    assert reason_of(case.data + padding) is None, refusal(case.data + padding)


# TIFF has no end: its pages and pixel data lie anywhere, referenced by offsets (EXIF and sub-IFDs included),
# so bytes after the last referenced one are unused space, not a second file; markup is refused anywhere.
WITH_AN_END = [case for case in adversarial.seeds() if not case.data.startswith((b"II", b"MM"))]


@pytest.mark.parametrize("case", WITH_AN_END, ids=lambda case: case.name)
def test_every_format_with_an_end_refuses_appended_data_as_a_polyglot(case: adversarial.Case) -> None:
    assert reason_of(case.data + b"PK\x03\x04appended archive") is Reason.POLYGLOT


def test_markup_appended_to_a_tiff_is_a_polyglot() -> None:
    assert reason_of(SEEDS["tiff-deflate"].data + b"<script>alert(1)</script>") is Reason.POLYGLOT


def test_bigtiff_is_read_like_tiff() -> None:
    info = inspect(adversarial.tiff_pages(5, big=True))
    assert (info.format.value, info.frames, info.width) == ("tiff", 5, 1)
    assert reason_of(SEEDS["bigtiff"].data) is None


# ------------------------------------------------------------------------- 4. faithful high bit depth


def _first_png_rendition(data: bytes) -> Image.Image:
    png_specs = [spec for spec in DEFAULT_RENDITIONS if spec.format in (OutputFormat.PNG, OutputFormat.WEBP)]
    result = engine.process(data, png_specs or DEFAULT_RENDITIONS)
    return Image.open(io.BytesIO(result.renditions[0].data))


def _grey_levels(image: Image.Image) -> int:
    return sum(1 for count in image.convert("L").histogram() if count)


def _ramp(mode: str, values: list[float], size: tuple[int, int] = (64, 64)) -> Image.Image:
    image = Image.new(mode, size)
    image.putdata(values)
    return image


def test_twelve_bit_data_in_a_sixteen_bit_png_keeps_its_whole_tonal_range() -> None:
    ramp = _ramp("I;16", [(x * 64 + y) % 4096 for y in range(64) for x in range(64)])
    out = _first_png_rendition(encode(ramp, "PNG"))
    low, high = out.convert("L").getextrema()
    assert isinstance(low, int) and isinstance(high, int)
    assert low <= 5 and high >= 250  # not "uniformly black" (a fixed 1/256 gives 0..15)
    assert _grey_levels(out) > 200


def test_a_narrow_32_bit_integer_range_is_stretched_not_clipped() -> None:
    scan = _ramp("I", [1000 + (x + y) % 200 for y in range(64) for x in range(64)])
    out = _first_png_rendition(encode(scan, "TIFF"))
    assert _grey_levels(out) > 100
    huge = _ramp("I", [(x + y) * 10_000_000 for y in range(64) for x in range(64)])
    assert _grey_levels(_first_png_rendition(encode(huge, "TIFF"))) > 100  # a clip to 255 gives 2 levels


@pytest.mark.parametrize(
    ("values", "expected_mean"),
    [
        ([(x + y) / 126 for y in range(64) for x in range(64)], 127),  # [0, 1] floats map from [0, 1]
        ([(x + y) * 3.5 - 100 for y in range(64) for x in range(64)], 127),  # other ranges by their own range
        ([0.25] * 4096, 64),  # a flat [0, 1] image keeps its level
    ],
    ids=["unit-floats", "wide-floats", "flat"],
)
def test_float_images_are_mapped_by_their_range(values: list[float], expected_mean: int) -> None:
    out = _first_png_rendition(encode(_ramp("F", values), "TIFF"))
    histogram = out.convert("L").histogram()
    mean = sum(level * count for level, count in enumerate(histogram)) / sum(histogram)
    assert abs(mean - expected_mean) < 12


def test_sixteen_bit_greyscale_transparency_becomes_alpha() -> None:
    half = _ramp("I;16", [0 if x < 32 else 40000 for y in range(64) for x in range(64)])
    out = _first_png_rendition(encode(half, "PNG", transparency=0))
    assert out.mode == "RGBA"
    alpha = out.getchannel("A")
    assert alpha.crop((0, 0, alpha.width // 2 - 2, alpha.height)).getextrema() == (0, 0)
    assert alpha.crop((alpha.width // 2 + 2, 0, alpha.width, alpha.height)).getextrema() == (255, 255)


def test_eight_bit_data_in_a_wide_container_is_kept_as_it_is() -> None:
    flat = _ramp("I;16", [200] * 4096)
    out = _first_png_rendition(encode(flat, "PNG"))
    assert out.convert("L").getextrema() == (200, 200)


def test_a_bigtiff_header_with_a_bad_offset_size_is_corrupt() -> None:
    data = bytearray(adversarial.tiff_pages(2, big=True))
    struct.pack_into("<H", data, 4, 4)
    assert reason_of(bytes(data)) is Reason.CORRUPT


# ------------------------------------------------------------------------- 5. verdicts for clients that wait


def test_verify_refuses_what_only_a_decode_shows() -> None:
    data = adversarial.png_with_undecodable_pixels()
    assert inspect(data).format.value == "png"  # the headers alone pass
    with pytest.raises(ValidationError) as refused:
        verify(data)
    assert refused.value.reason is Reason.CORRUPT
    assert reason_of(data) is Reason.CORRUPT  # the processor's verdict is the same


def test_verify_reaches_the_processors_verdict_on_every_truncation() -> None:
    photo = adversarial.jpeg_with_exif_thumbnail(progressive=True)
    for data in adversarial.truncations(adversarial.Case("photo", photo, frozenset())):
        try:
            verify(data)
            verified: Reason | None = None
        except ValidationError as err:
            verified = err.reason
        assert verified == reason_of(data)


def test_verify_accepts_every_seed() -> None:
    for case in adversarial.seeds():
        assert verify(case.data).size_bytes == len(case.data)
