"""The processing engine on real bytes: formats, orientation, privacy, colour, renditions, hashes, hostile input."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from imgpipe import engine
from imgpipe.renditions import (
    DEFAULT_RENDITIONS,
    OutputFormat,
    RenditionConfigError,
    RenditionSpec,
    parse_renditions,
    to_json,
)
from imgpipe.validation import ImageFormat, Limits, Reason, ValidationError
from tests.imaging import encode, photo_with_exif, swapped_primaries_icc


def scene(size: tuple[int, int] = (900, 600)) -> Image.Image:
    """Something photo-like: a gradient sky, shapes, edges (hashes and encoders need structure)."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.1, h * 0.2, w * 0.45, h * 0.8), fill=(200, 40, 30))
    draw.rectangle((w * 0.55, h * 0.1, w * 0.9, h * 0.5), fill=(20, 90, 200))
    draw.polygon([(w * 0.5, h * 0.95), (w * 0.95, h * 0.6), (w * 0.7, h * 0.95)], fill=(240, 220, 40))
    return image


def rgb(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    pixel = image.convert("RGB").getpixel(xy)
    assert isinstance(pixel, tuple)
    return pixel


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


SOURCE_FORMATS: list[tuple[ImageFormat, str, dict[str, object]]] = [
    (ImageFormat.JPEG, "JPEG", {}),
    (ImageFormat.PNG, "PNG", {}),
    (ImageFormat.WEBP, "WEBP", {}),
    (ImageFormat.GIF, "GIF", {}),
    (ImageFormat.AVIF, "AVIF", {}),
    (ImageFormat.TIFF, "TIFF", {}),
]


@pytest.mark.parametrize(("fmt", "pil", "options"), SOURCE_FORMATS)
def test_every_accepted_format_becomes_every_output_format_at_the_configured_sizes(
    fmt: ImageFormat, pil: str, options: dict[str, object]
) -> None:
    specs = [
        RenditionSpec(name="j", max_edge=300, format=OutputFormat.JPEG),
        RenditionSpec(name="p", max_edge=200, format=OutputFormat.PNG),
        RenditionSpec(name="w", max_edge=150, format=OutputFormat.WEBP),
        RenditionSpec(name="a", max_edge=100, format=OutputFormat.AVIF),
    ]
    result = engine.process(encode(scene(), pil, **options), specs)
    assert result.format is fmt and (result.width, result.height) == (900, 600)
    got = {r.name: (opened(r.data).format, opened(r.data).size, (r.width, r.height)) for r in result.renditions}
    assert got == {
        "j": ("JPEG", (300, 200), (300, 200)),
        "p": ("PNG", (200, 133), (200, 133)),
        "w": ("WEBP", (150, 100), (150, 100)),
        "a": ("AVIF", (100, 67), (100, 67)),
    }


def test_default_renditions_are_1280_640_160_jpeg_and_1280_webp() -> None:
    result = engine.process(encode(scene((3000, 2000)), "JPEG", quality=90))
    assert [(r.name, r.format, r.width, r.height) for r in result.renditions] == [
        ("large", OutputFormat.JPEG, 1280, 853),
        ("medium", OutputFormat.JPEG, 640, 427),
        ("thumb", OutputFormat.JPEG, 160, 107),
        ("large_webp", OutputFormat.WEBP, 1280, 853),
    ]
    assert set(result.timings_ms) >= {"validate", "decode", "prepare", "analyse", "rendition:large"}


def test_small_images_are_never_upscaled() -> None:
    result = engine.process(encode(scene((200, 100)), "PNG"))
    assert {(r.width, r.height) for r in result.renditions if r.name != "thumb"} == {(200, 100)}
    assert next(r for r in result.renditions if r.name == "thumb").width == 160


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(orientation: int) -> None:
    result = engine.process(
        photo_with_exif(orientation), [RenditionSpec(name="r", max_edge=120, format=OutputFormat.PNG)]
    )
    out = opened(result.renditions[0].data).convert("RGB")
    assert out.size == (120, 80) and (result.width, result.height) == (120, 80)
    assert out.getpixel((5, 5)) == (220, 0, 0)  # red stays top-left
    assert out.getpixel((115, 75)) == (0, 0, 220)  # blue stays bottom-right
    assert out.getpixel((115, 5)) == (0, 160, 0)


def test_gps_and_other_metadata_never_reach_an_output_but_the_safe_subset_is_kept() -> None:
    specs = [RenditionSpec(name=f.value, max_edge=64, format=f) for f in OutputFormat]
    result = engine.process(photo_with_exif(6, gps=True), specs)
    assert result.camera == {
        "make": "Imgpipe Optics",
        "model": "Test Camera 1",
        "captured_at": "2026:11:20 10:30:00",
        "orientation": 6,
    }
    for rendition in result.renditions:
        out = opened(rendition.data)
        assert not out.getexif(), rendition.name
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile"} & set(out.info), (rendition.name, out.info)
        assert b"Imgpipe Optics" not in rendition.data and b"Exif" not in rendition.data


def test_a_non_srgb_profile_is_converted_to_srgb_and_not_embedded() -> None:
    # In the test profile, "red" is sRGB's green: a faithful conversion turns the pixels green.
    data = encode(Image.new("RGB", (50, 40), (200, 0, 0)), "PNG", icc_profile=swapped_primaries_icc())
    result = engine.process(data, [RenditionSpec(name="r", max_edge=50, format=OutputFormat.PNG)])
    out = opened(result.renditions[0].data)
    r, g, b = rgb(out, (10, 10))
    assert g > 150 and r < 40 and b < 40
    assert "icc_profile" not in out.info


def test_transparency_is_kept_where_the_format_has_it_and_flattened_on_white_for_jpeg() -> None:
    image = Image.new("RGBA", (40, 40), (0, 0, 255, 0))
    image.paste((255, 0, 0, 255), (0, 0, 20, 40))
    specs = [
        RenditionSpec(name="p", max_edge=40, format=OutputFormat.PNG),
        RenditionSpec(name="j", max_edge=40, format=OutputFormat.JPEG, quality=95),
    ]
    png, jpeg = (opened(r.data) for r in engine.process(encode(image, "PNG"), specs).renditions)
    assert png.mode == "RGBA" and png.getchannel("A").getpixel((30, 20)) == 0
    assert jpeg.mode == "RGB" and min(rgb(jpeg, (30, 20))) > 240  # transparent became white


def test_operations_change_the_pixels_as_declared() -> None:
    data = encode(scene((800, 400)), "PNG")

    def one(**operations: object) -> Image.Image:
        spec = RenditionSpec.model_validate({"name": "r", "max_edge": 200, "format": "png", "operations": operations})
        return opened(engine.process(data, [spec]).renditions[0].data).convert("RGB")

    plain = one()
    square = one(crop_aspect=(1, 1))
    assert plain.size == (200, 100) and square.size == (200, 200)  # the crop gets the whole max edge
    gray = one(grayscale=True)
    assert all(len(set(pixel)) == 1 for pixel in gray.get_flattened_data() if isinstance(pixel, tuple))
    for changed in (one(blur_radius=3), one(sharpen=True), one(watermark="imgpipe")):
        assert changed.size == plain.size and list(changed.get_flattened_data()) != list(plain.get_flattened_data())


def test_autocontrast_stretches_a_dull_image() -> None:
    dull = Image.linear_gradient("L").resize((64, 64)).point(lambda v: 100 + v // 8).convert("RGB")
    spec = RenditionSpec.model_validate(
        {"name": "r", "max_edge": 64, "format": "png", "operations": {"autocontrast": True}}
    )
    out = opened(engine.process(encode(dull, "PNG"), [spec]).renditions[0].data).convert("L")
    low, high = out.getextrema()
    assert isinstance(low, int) and isinstance(high, int) and low < 20 and high > 235


def test_perceptual_hash_survives_reencoding_and_resizing_but_tells_images_apart() -> None:
    original = scene((1200, 800))
    a = engine.process(encode(original, "PNG")).phash
    reencoded = engine.process(encode(original, "JPEG", quality=85)).phash
    resized = engine.process(encode(original.resize((600, 400)), "WEBP", quality=90)).phash
    other = engine.process(encode(original.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "PNG")).phash
    assert len(a) == 16 and a == reencoded
    assert engine.hamming(a, resized) <= 2
    assert engine.hamming(a, other) > 10


def test_metadata_describes_the_source() -> None:
    data = encode(Image.new("RGB", (300, 200), (10, 200, 30)), "WEBP", quality=90)
    result = engine.process(data)
    assert (result.format, result.mode, result.width, result.height, result.frames) == (
        ImageFormat.WEBP,
        "RGB",
        300,
        200,
        1,
    )
    assert result.size_bytes == len(data) and len(result.sha256) == 64
    r, g, b = (int(result.dominant_color[i : i + 2], 16) for i in (1, 3, 5))
    assert abs(r - 10) < 8 and abs(g - 200) < 8 and abs(b - 30) < 8


def test_animated_gif_renditions_are_stills_of_the_first_frame() -> None:
    frames = [Image.new("RGB", (60, 60), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    result = engine.process(buffer.getvalue(), [RenditionSpec(name="r", max_edge=60, format=OutputFormat.PNG)])
    assert result.frames == 3
    r, g, _ = rgb(opened(result.renditions[0].data), (30, 30))
    assert r > 200 and g < 40


def test_truncated_and_corrupt_images_are_typed_errors() -> None:
    jpeg = encode(scene(), "JPEG")
    with pytest.raises(ValidationError) as truncated:
        engine.process(jpeg[: len(jpeg) // 2])
    assert truncated.value.reason in (Reason.TRUNCATED, Reason.CORRUPT)
    png = bytearray(encode(scene(), "PNG"))
    png[200:260] = b"\xff" * 60  # inside IDAT: the header is fine, the deflate stream is not
    with pytest.raises(ValidationError) as corrupt:
        engine.process(bytes(png))
    assert corrupt.value.reason in (Reason.CORRUPT, Reason.TRUNCATED)


def test_caps_apply_before_decoding() -> None:
    with pytest.raises(ValidationError) as err:
        engine.process(encode(Image.new("L", (400, 400)), "PNG"), limits=Limits(max_pixels=100_000))
    assert err.value.reason is Reason.TOO_MANY_PIXELS


MODES = ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "I", "I;16", "F"]
FORMAT_FOR_MODE = {
    "1": ["PNG", "TIFF", "GIF"],
    "L": ["PNG", "JPEG", "WEBP", "TIFF", "GIF"],
    "LA": ["PNG", "TIFF"],
    "P": ["PNG", "GIF", "TIFF"],
    "PA": ["PNG"],
    "RGB": ["PNG", "JPEG", "WEBP", "TIFF", "AVIF"],
    "RGBA": ["PNG", "WEBP", "TIFF", "AVIF"],
    "CMYK": ["JPEG", "TIFF"],
    "I": ["TIFF"],
    "I;16": ["PNG", "TIFF"],
    "F": ["TIFF"],
}


@st.composite
def random_images(draw: st.DrawFn) -> tuple[bytes, str]:
    mode = draw(st.sampled_from(MODES))
    fmt = draw(st.sampled_from(FORMAT_FOR_MODE[mode]))
    width, height = draw(st.integers(1, 96)), draw(st.integers(1, 96))
    noise = draw(st.binary(min_size=width * height, max_size=width * height))
    image = Image.frombytes("L", (width, height), noise).convert(mode if mode not in ("PA",) else "LA")
    if mode == "PA":
        image = Image.frombytes("L", (width, height), noise).convert("P")
        image.info["transparency"] = 0
    return encode(image, fmt), mode


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_images(), st.integers(16, 120))
def test_random_images_of_every_mode_never_crash_and_respect_the_max_edge(
    case: tuple[bytes, str], max_edge: int
) -> None:
    data, _mode = case
    specs = [
        RenditionSpec(name="big", max_edge=max_edge, format=OutputFormat.WEBP),
        RenditionSpec(name="small", max_edge=16, format=OutputFormat.JPEG),
        RenditionSpec.model_validate(
            {"name": "ops", "max_edge": 32, "format": "png", "operations": {"crop_aspect": (16, 9), "grayscale": True}}
        ),
    ]
    try:
        result = engine.process(data, specs)
    except ValidationError:
        return  # a typed refusal is an allowed outcome; anything else is a bug
    for rendition in result.renditions:
        out = opened(rendition.data)
        assert out.size == (rendition.width, rendition.height)
        assert max(out.size) <= {"big": max_edge, "small": 16, "ops": 32}[rendition.name]


def test_rendition_config_parsing() -> None:
    assert parse_renditions(None) == DEFAULT_RENDITIONS == parse_renditions("  ")
    assert parse_renditions(to_json(DEFAULT_RENDITIONS)) == DEFAULT_RENDITIONS
    custom = parse_renditions(
        '[{"name": "sq", "max_edge": 256, "format": "avif", "operations": {"crop_aspect": [1, 1]}}]'
    )
    assert custom[0].operations.crop_aspect == (1, 1) and custom[0].quality == 82
    for bad in (
        "not json",
        "[]",
        '[{"name": "a", "max_edge": 10, "format": "jpeg"}]',  # below 16
        '[{"name": "a", "max_edge": 100, "format": "gif"}]',
        '[{"name": "a", "max_edge": 100, "format": "jpeg"}, {"name": "a", "max_edge": 50, "format": "png"}]',
        '[{"name": "../x", "max_edge": 100, "format": "jpeg"}]',
        '[{"name": "a", "max_edge": 100, "format": "jpeg", "operations": {"rotate": 90}}]',
    ):
        with pytest.raises(RenditionConfigError):
            parse_renditions(bad)
