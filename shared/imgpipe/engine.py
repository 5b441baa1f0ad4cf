"""The processing engine: image bytes in, renditions and derived metadata out. Pure: no AWS, no I/O.

Fast where it matters (see `make bench`):
- the bytes are validated from their headers first (imgpipe.validation: magic bytes, pixel/edge/frame caps), and
  only the decoder of the sniffed format may open them;
- a JPEG is decoded with `draft()`, i.e. DCT-scaled by 1/2, 1/4 or 1/8 while decoding, straight to the smallest
  size that still covers the largest rendition — a 24 MP photo for 1280 px renditions decodes at 1/2 or 1/4;
- renditions are cascaded: each one is resized from the previous, smaller working image (640 from 1280, 160 from
  640), never again from the full decode, which is dropped after the first resize;
- orientation and colour conversion run on that first, already reduced image, not on the full decode.

Privacy: outputs carry no EXIF, XMP or ICC profile (pixels are converted to sRGB, which untagged images mean);
only a safe subset (camera make/model, capture time, orientation) is returned as metadata, never GPS.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageFilter, ImageFont, ImageOps, UnidentifiedImageError

from imgpipe import validation
from imgpipe.renditions import DEFAULT_RENDITIONS, OutputFormat, RenditionSpec
from imgpipe.validation import ImageFormat, Limits, Reason, ValidationError

# EXIF tags of the safe subset (everything else, GPS above all, is dropped).
_MAKE, _MODEL, _ORIENTATION, _DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
_EXIF_IFD, _DATETIME_ORIGINAL = 0x8769, 0x9003

# EXIF orientation -> the transpose that shows the image upright (orientation 1: none).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Box-reduce to within this factor of the target, then Lanczos: Pillow's fast path for large downscales.
_REDUCING_GAP = 2.0
_WEBP_METHOD = 4  # libwebp effort: 4 is its default balance of speed and size
_AVIF_SPEED = 8  # libavif speed 0-10: 8 keeps AVIF encode in the same range as WebP
_SRGB = ImageCms.createProfile("sRGB")

_DECODE_ERRORS = (UnidentifiedImageError, SyntaxError, struct.error, ValueError, OSError, EOFError, IndexError)


@dataclass(frozen=True)
class Rendition:
    name: str
    format: OutputFormat
    width: int
    height: int
    data: bytes
    ms: float

    @property
    def size_bytes(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class ProcessedImage:
    """Everything the processor records about an image. width/height are as displayed (after orientation)."""

    format: ImageFormat
    mode: str
    width: int
    height: int
    frames: int
    size_bytes: int
    sha256: str
    phash: str  # 64-bit DCT perceptual hash, 16 hex digits
    dominant_color: str  # "#rrggbb"
    camera: dict[str, str | int]
    renditions: tuple[Rendition, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)


class _Stopwatch:
    """Times each step and enforces the image's work budget between steps: the caps bound every single step
    (no decoder call sees more than max_pixels of one frame), the deadline bounds their sum."""

    def __init__(self, deadline: float) -> None:
        self.ms: dict[str, float] = {}
        self._deadline = deadline

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = round(self.ms.get(name, 0.0) + (time.perf_counter() - started) * 1000, 2)
        if time.monotonic() > self._deadline:
            spent = sum(self.ms.values()) / 1000
            raise ValidationError(
                Reason.TOO_EXPENSIVE, f"the image exceeded its processing budget ({spent:.1f} s, stopped after {name})"
            )


def process(
    data: bytes,
    specs: Sequence[RenditionSpec] = DEFAULT_RENDITIONS,
    limits: Limits | None = None,
    declared_type: str | None = None,
    deadline: float | None = None,
) -> ProcessedImage:
    """Renditions and metadata of one image. Raises ValidationError (with a Reason) for anything not an image
    we accept, or not the declared type, or too expensive to process; never anything else, whatever the bytes.

    `deadline` (a time.monotonic() instant) tightens the budget of limits.max_seconds, e.g. to what is left of
    the caller's own time."""
    limits = limits or Limits()
    budget_end = time.monotonic() + limits.max_seconds
    clock = _Stopwatch(budget_end if deadline is None else min(deadline, budget_end))
    with clock.step("validate"):
        info = validation.inspect(data, declared_type, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # our caps are stricter than Pillow's bomb warning; bad EXIF is dropped
            return _process(data, info, specs, clock)
    except ValidationError:
        raise
    except Exception as err:
        raise validation.decode_refusal(info.format, err) from None


def _process(
    data: bytes, info: validation.ImageInfo, specs: Sequence[RenditionSpec], clock: _Stopwatch
) -> ProcessedImage:
    with clock.step("decode"):
        # Renditions are stills of the first frame, where a freshly opened image stands; the frame count comes
        # from validation (Pillow's n_frames would seek through every frame of a TIFF or GIF).
        image = Image.open(io.BytesIO(data), formats=[validation.PIL_NAMES[info.format]])
        if info.format is not ImageFormat.JPEG:
            # Decode now: getexif() would otherwise decode these formats itself, and _camera must not be
            # where a decode error surfaces (a failed load leaves Pillow with a blank image and no error).
            image.load()
        camera, orientation = _camera(image)
        upright_w, upright_h = (info.height, info.width) if orientation in (5, 6, 7, 8) else (info.width, info.height)
        scales = {spec.name: _scale_for(spec, upright_w, upright_h) for spec in specs}
        largest = max(scales.values())
        if info.format is ImageFormat.JPEG and largest < 1.0:
            image.draft(None, (max(1, math.ceil(info.width * largest)), max(1, math.ceil(info.height * largest))))
        icc = image.info.get("icc_profile")
        image.load()
        source_mode = image.mode
        pixels_in: Image.Image = _resizable(image)

    with clock.step("prepare"):
        # First resize on the stored orientation (uniform scale: orientation does not change it), then turn
        # upright and convert colour on the already reduced image.
        stored_w, stored_h = info.width, info.height
        first = _resize(pixels_in, (_scaled(stored_w, largest), _scaled(stored_h, largest)))
        del image, pixels_in  # the full decode is not kept past the first resize
        first = _normalise_mode(first)
        if orientation in _UPRIGHT:
            first = first.transpose(_UPRIGHT[orientation])
        first = _to_srgb(first, icc)

    # Cascade: largest scale first, each working image resized from the previous one.
    working, working_scale = first, largest
    renditions: dict[str, Rendition] = {}
    for spec in sorted(specs, key=lambda s: -scales[s.name]):
        started = time.perf_counter()
        with clock.step(f"rendition:{spec.name}"):
            scale = scales[spec.name]
            if scale < working_scale:
                working = _resize(working, (_scaled(upright_w, scale), _scaled(upright_h, scale)))
                working_scale = scale
            pixels = _apply(working, spec)
            encoded = _encode(pixels, spec)
        renditions[spec.name] = Rendition(
            spec.name,
            spec.format,
            pixels.width,
            pixels.height,
            encoded,
            round((time.perf_counter() - started) * 1000, 2),
        )

    with clock.step("analyse"):
        phash = perceptual_hash(working)
        dominant = dominant_color(working)
        sha256 = hashlib.sha256(data).hexdigest()

    return ProcessedImage(
        format=info.format,
        mode=source_mode,
        width=upright_w,
        height=upright_h,
        frames=info.frames,
        size_bytes=len(data),
        sha256=sha256,
        phash=phash,
        dominant_color=dominant,
        camera=camera,
        renditions=tuple(renditions[s.name] for s in specs),
        timings_ms=clock.ms,
    )


def _scaled(length: int, scale: float) -> int:
    return max(1, round(length * scale))


def _crop_size(width: int, height: int, aspect: tuple[int, int] | None) -> tuple[int, int]:
    if aspect is None:
        return width, height
    ratio = aspect[0] / aspect[1]
    if width / height > ratio:
        return max(1, round(height * ratio)), height
    return width, max(1, round(width / ratio))


def _scale_for(spec: RenditionSpec, width: int, height: int) -> float:
    """The scale of the upright image at which this rendition's (cropped) area has its max edge; never > 1."""
    crop_w, crop_h = _crop_size(width, height, spec.operations.crop_aspect)
    return min(1.0, spec.max_edge / max(crop_w, crop_h))


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info)


# Single-band modes Pillow resizes as they are: their conversion to RGB (and a wide image's mapping to 8 bits)
# then runs on the reduced image, a fraction of the pixels.
_RESIZED_AS_IS = ("RGB", "RGBA", "L", "I", "F")


def _resizable(image: Image.Image) -> Image.Image:
    """The decoded image in a mode the first resize accepts, converting as little of the full decode as can be."""
    if "transparency" in image.info:
        return _normalise_mode(image)  # a transparent colour key must become alpha before pixels are blended
    if image.mode in _RESIZED_AS_IS:
        return image
    if image.mode.startswith("I;16"):
        return image.convert("I")
    return _normalise_mode(image)


def _normalise_mode(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has transparency: the modes every encoder and filter below accepts."""
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode.startswith("I") or image.mode == "F":
        return _wide_grey_to_8bit(image)
    if image.mode == "CMYK" and image.info.get("icc_profile"):
        return image  # converted through its profile in _to_srgb
    return image.convert("RGBA" if _has_alpha(image) else "RGB")


def _wide_grey_to_8bit(image: Image.Image) -> Image.Image:
    """16/32-bit integer and float greyscale to 8 bits by the image's own value range: a fixed 1/256 turns 12-bit
    data in a 16-bit container (and most scientific and medical scans) uniformly black, and a clip to 255 turns
    32-bit data white. Conventions kept: floats within [0, 1] are mapped from [0, 1], integers within [0, 255]
    are kept as they are. A 16-bit greyscale PNG's transparent value (tRNS) becomes an alpha channel."""
    transparent = image.info.get("transparency")
    wide = image if image.mode in ("I", "F") else image.convert("I")
    extrema = wide.getextrema()  # one band: (min, max)
    low, high = float(extrema[0]), float(extrema[1])  # type: ignore[arg-type]
    if image.mode == "F" and low >= 0.0 and high <= 1.0:
        low, high = 0.0, 1.0
    elif low >= 0 and high <= 255:
        low, high = 0.0, 255.0
    scale = 255.0 / (high - low) if high > low else 0.0
    grey = wide.point(lambda v: v * scale - low * scale).convert("L")
    if not isinstance(transparent, int) or image.mode == "F":
        return grey.convert("RGB")
    # Alpha 0 where the sample equals the transparent value, else 255: |v - t| * 255, clipped to 8 bits.
    above = wide.point(lambda v: v * 255 - transparent * 255).convert("L")
    below = wide.point(lambda v: transparent * 255 - v * 255).convert("L")
    rgba = grey.convert("RGBA")
    rgba.putalpha(ImageChops.lighter(above, below))
    return rgba


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Pixels in sRGB. Untagged images are taken as sRGB; a profile that cannot be read is ignored."""
    if not icc:
        return image.convert("RGB") if image.mode == "CMYK" else image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if _is_srgb(source):
            return image.convert("RGB") if image.mode == "CMYK" else image
        alpha = image.getchannel("A") if image.mode == "RGBA" else None
        pixels = image.convert("RGB") if image.mode == "RGBA" else image
        converted = ImageCms.profileToProfile(pixels, source, _SRGB, outputMode="RGB")
        assert converted is not None
        if alpha is not None:
            converted.putalpha(alpha)
        return converted
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image.convert("RGB") if image.mode == "CMYK" else image


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    try:
        description = ImageCms.getProfileDescription(profile) or ""
    except ImageCms.PyCMSError:
        return False
    return "srgb" in description.lower()


def _apply(image: Image.Image, spec: RenditionSpec) -> Image.Image:
    ops = spec.operations
    out = image
    if ops.crop_aspect is not None:
        crop_w, crop_h = _crop_size(out.width, out.height, ops.crop_aspect)
        left, top = (out.width - crop_w) // 2, (out.height - crop_h) // 2
        out = out.crop((left, top, left + crop_w, top + crop_h))
    if ops.grayscale:
        out = ImageOps.grayscale(out).convert(out.mode) if out.mode == "RGB" else _gray_keep_alpha(out)
    if ops.autocontrast:
        out = _rgb_op(out, ImageOps.autocontrast)
    if ops.blur_radius > 0:
        out = out.filter(ImageFilter.GaussianBlur(ops.blur_radius))
    if ops.sharpen:
        out = out.filter(ImageFilter.UnsharpMask(radius=2, percent=120, threshold=3))
    if ops.watermark:
        out = _watermark(out, ops.watermark)
    return out


def _gray_keep_alpha(image: Image.Image) -> Image.Image:
    alpha = image.getchannel("A")
    gray = ImageOps.grayscale(image.convert("RGB")).convert("RGBA")
    gray.putalpha(alpha)
    return gray


def _rgb_op(image: Image.Image, op: Any) -> Image.Image:
    if image.mode != "RGBA":
        return op(image)  # type: ignore[no-any-return]
    alpha = image.getchannel("A")
    out = op(image.convert("RGB")).convert("RGBA")
    out.putalpha(alpha)
    return out  # type: ignore[no-any-return]


def _watermark(image: Image.Image, text: str) -> Image.Image:
    out = image.copy()
    size = max(8, min(out.width, out.height) // 12)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(out)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=1)
    margin = max(2, size // 3)
    position = (max(0, out.width - (right - left) - margin), max(0, out.height - (bottom - top) - margin))
    draw.text(position, text, font=font, fill=(255, 255, 255), stroke_width=1, stroke_fill=(0, 0, 0))
    return out


def _encode(image: Image.Image, spec: RenditionSpec) -> bytes:
    """Encoded bytes without any metadata: no EXIF, XMP, ICC or text chunks reach the outputs."""
    if spec.format is OutputFormat.JPEG and image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    image.info = {}  # the encoders copy some of it (e.g. PNG keeps icc_profile) unless it is gone
    buffer = io.BytesIO()
    if spec.format is OutputFormat.JPEG:
        image.save(buffer, "JPEG", quality=spec.quality)
    elif spec.format is OutputFormat.PNG:
        image.save(buffer, "PNG", compress_level=6)
    elif spec.format is OutputFormat.WEBP:
        image.save(buffer, "WEBP", quality=spec.quality, method=_WEBP_METHOD)
    else:
        image.save(buffer, "AVIF", quality=spec.quality, speed=_AVIF_SPEED)
    return buffer.getvalue()


def _camera(image: Image.Image) -> tuple[dict[str, str | int], int]:
    """The safe EXIF subset and the orientation (1 when absent or invalid)."""
    try:
        exif = image.getexif()
    except _DECODE_ERRORS:
        return {}, 1
    camera: dict[str, str | int] = {}
    for tag, name in ((_MAKE, "make"), (_MODEL, "model")):
        text = _clean_text(exif.get(tag))
        if text:
            camera[name] = text
    try:
        captured = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    except _DECODE_ERRORS:
        captured = exif.get(_DATETIME)
    captured_text = _clean_text(captured)
    if captured_text:
        camera["captured_at"] = captured_text
    orientation = exif.get(_ORIENTATION, 1)
    orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1
    if orientation != 1:
        camera["orientation"] = orientation
    return camera, orientation


def _clean_text(value: Any, limit: int = 64) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1", errors="replace")
    if not isinstance(value, str):
        return ""
    return "".join(c for c in value if c.isprintable()).strip()[:limit]


def perceptual_hash(image: Image.Image) -> str:
    """pHash: the signs of the 8x8 lowest frequencies of a 32x32 grayscale DCT against their median, as 16 hex
    digits. Near-identical images (re-encoded, resized) hash alike; compare with a Hamming distance."""
    size, keep = 32, 8
    gray = image.convert("L").resize((size, size), Image.Resampling.LANCZOS)
    pixels = [float(p) for p in gray.get_flattened_data()]  # type: ignore[arg-type]  # "L": one int per pixel
    rows = [pixels[i * size : (i + 1) * size] for i in range(size)]
    cosines = [[math.cos(math.pi * (2 * x + 1) * u / (2 * size)) for x in range(size)] for u in range(keep)]
    # Separable 2-D DCT-II, only the kept frequencies: rows first, then columns.
    row_freqs = [[sum(c * p for c, p in zip(cosines[u], row, strict=True)) for u in range(keep)] for row in rows]
    coefficients = [sum(cosines[v][y] * row_freqs[y][u] for y in range(size)) for v in range(keep) for u in range(keep)]
    median = sorted(coefficients[1:])[len(coefficients[1:]) // 2]  # the DC term would dominate the median
    bits = 0
    for value in coefficients:
        bits = (bits << 1) | (1 if value > median else 0)
    return f"{bits:016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def dominant_color(image: Image.Image) -> str:
    """The most common colour of a median-cut palette of the image, as #rrggbb."""
    small = image.convert("RGB")
    if max(small.size) > 64:
        small = small.resize(
            (max(1, small.width * 64 // max(small.size)), max(1, small.height * 64 // max(small.size)))
        )
    quantized = small.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    counts = quantized.getcolors() or [(1, 0)]
    _, index = max(counts)
    palette = quantized.getpalette() or [0, 0, 0]
    start = int(index) * 3  # type: ignore[call-overload]  # a palette image's colours are (count, index)
    r, g, b = palette[start : start + 3]
    return f"#{r:02x}{g:02x}{b:02x}"
