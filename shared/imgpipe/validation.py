"""Image validation shared by every ingestion path (HTTP, Kafka) and by the processor.

The bytes decide: the format comes from magic bytes, never from a declared Content-Type or a file name;
dimensions and frame counts come from headers, before anything is decoded, so a decompression bomb is refused
by arithmetic rather than discovered by running out of memory. Every refusal is a ValidationError carrying a
stable reason code (stored on REJECTED items, counted in metrics) and the HTTP status an API should answer.
"""

from __future__ import annotations

import io
import re
import struct
import time
import unicodedata
import warnings
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from imgpipe import structure
from imgpipe.errors import Reason as Reason  # re-exported: callers import the refusal from here
from imgpipe.errors import ValidationError as ValidationError

# Pillow is imported by the functions that read an image: upload_api serves reads and presigned uploads
# without loading it at cold start.
if TYPE_CHECKING:
    from PIL import Image


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    GIF = "gif"
    AVIF = "avif"
    TIFF = "tiff"

    @property
    def mime_type(self) -> str:
        return f"image/{self.value}"


ALLOWED_FORMATS = frozenset(ImageFormat)
_MIME_ALIASES = {"image/jpg": ImageFormat.JPEG, "image/pjpeg": ImageFormat.JPEG, "image/tif": ImageFormat.TIFF}


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000  # per frame; a 24 MP camera image fits twice
    max_edge: int = 16_384  # also refuses 1 x 100 000 strips whose pixel count alone looks harmless
    max_frames: int = 100
    # Wall-clock budget of validate + decode + renditions for one image (reason too_expensive). The slowest
    # image the caps above admit takes about 1.2 s on one core (`make bench` hostile); the processor's batch
    # must fit batch_size x this in its timeout (checked by Terraform).
    max_seconds: float = 10.0

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_pixels, self.max_edge, self.max_frames) < 1:
            raise ValueError("every limit must be at least 1")
        if not self.max_seconds > 0:
            raise ValueError("max_seconds must be positive")


EXIF_ORIENTATION = 0x0112
_TURNED = (5, 6, 7, 8)  # EXIF orientations shown a quarter turn from how they are stored


@dataclass(frozen=True)
class ImageInfo:
    format: ImageFormat
    width: int  # as stored
    height: int
    frames: int
    mode: str
    size_bytes: int
    orientation: int = 1  # EXIF orientation, 1 when absent or invalid

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) as the image is displayed, and as the processor records it."""
        return (self.height, self.width) if self.orientation in _TURNED else (self.width, self.height)


def _orientation(image: Image.Image, fmt: ImageFormat) -> int:
    from PIL import Image

    """The EXIF orientation still to apply, from the raw EXIF block the header carried (image.getexif() would
    decode the pixels of some formats to look further). Pillow turns a TIFF upright itself: its size is
    already as displayed."""
    if fmt is ImageFormat.TIFF:
        return 1
    try:
        raw = image.info.get("exif")
        if not isinstance(raw, bytes | bytearray) or not raw:
            return 1
        exif = Image.Exif()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on corrupt EXIF; it reads as upright below
            exif.load(bytes(raw))
        value = exif.get(EXIF_ORIENTATION, 1)
    except (SyntaxError, struct.error, ValueError, OSError, EOFError, KeyError, TypeError, IndexError):
        return 1  # unreadable EXIF: shown as stored, as the processor does
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def format_from_mime(content_type: str) -> ImageFormat:
    """The allowlisted format a declared Content-Type names (parameters ignored), else UNSUPPORTED_TYPE."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in _MIME_ALIASES:
        return _MIME_ALIASES[mime]
    for fmt in ALLOWED_FORMATS:
        if mime == fmt.mime_type:
            return fmt
    raise ValidationError(
        Reason.UNSUPPORTED_TYPE,
        f"content type {content_type[:80]!r} is not accepted; "
        f"allowed: {', '.join(sorted(f.mime_type for f in ALLOWED_FORMATS))}",
    )


def sniff(data: bytes) -> ImageFormat:
    """The format the leading bytes prove, else UNKNOWN_FORMAT."""
    if data[:3] == b"\xff\xd8\xff":
        return ImageFormat.JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ImageFormat.PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ImageFormat.GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # TIFF, BigTIFF
        return ImageFormat.TIFF
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return ImageFormat.AVIF
    raise ValidationError(Reason.UNKNOWN_FORMAT, "the content is not a JPEG, PNG, WebP, GIF, AVIF or TIFF image")


# Markup that turns an image into a polyglot a browser or interpreter would run. Seven-plus fixed bytes: random
# compressed data matches one by chance about once in 2^56 positions.
_MARKUP = re.compile(rb"<(?:script|html|body|iframe|svg|\?php)[\s>/]", re.IGNORECASE)


def inspect(data: bytes, declared_type: str | None = None, limits: Limits | None = None) -> ImageInfo:
    """Validates an image from its bytes without decoding its pixels; raises ValidationError with a reason,
    and nothing else whatever the bytes."""
    from PIL import Image

    limits = limits or Limits()
    if not data:
        raise ValidationError(Reason.EMPTY, "the upload is empty")
    if len(data) > limits.max_bytes:
        raise ValidationError(Reason.TOO_LARGE, f"{len(data)} bytes exceeds the limit of {limits.max_bytes}")
    declared = format_from_mime(declared_type) if declared_type is not None else None
    fmt = sniff(data)
    if declared is not None and declared is not fmt:
        raise ValidationError(Reason.TYPE_MISMATCH, f"declared {declared.mime_type} but the content is {fmt.value}")
    try:
        return _inspect(data, fmt, limits)
    except ValidationError:
        raise
    except Image.DecompressionBombError as err:
        raise ValidationError(Reason.TOO_MANY_PIXELS, str(err)) from None
    except MemoryError:
        raise ValidationError(Reason.TOO_EXPENSIVE, f"the {fmt.value} header needs more memory than allowed") from None
    except ValueError as err:
        if _is_metadata_bomb(err):
            raise ValidationError(Reason.TOO_EXPENSIVE, f"the {fmt.value} metadata inflates too far: {err}") from None
        raise ValidationError(Reason.CORRUPT, f"the {fmt.value} header cannot be read: {err}") from None
    except Exception as err:
        raise ValidationError(
            Reason.CORRUPT, f"the {fmt.value} header cannot be read: {type(err).__name__}: {err}"
        ) from None


def verify(data: bytes, declared_type: str | None = None, limits: Limits | None = None) -> ImageInfo:
    """inspect(), then a decode of the first frame within the image's time budget: the verdict the processor
    would reach on the pixels, for a client that waits for it (a direct upload). A JPEG is decoded at 1/8 scale:
    every coefficient is still entropy-decoded, so truncation and corruption show, at a fraction of the cost."""
    from PIL import Image

    limits = limits or Limits()
    deadline = time.monotonic() + limits.max_seconds
    info = inspect(data, declared_type, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=[PIL_NAMES[info.format]]) as image:
                if info.format is ImageFormat.JPEG:
                    image.draft(None, (max(1, info.width // 8), max(1, info.height // 8)))
                image.load()
    except Exception as err:  # a decoder's own error on hostile bytes is a refusal, not a crash
        raise decode_refusal(info.format, err) from None
    if time.monotonic() > deadline:
        raise ValidationError(Reason.TOO_EXPENSIVE, f"decoding took longer than the {limits.max_seconds:g} s budget")
    return info


def decode_refusal(fmt: ImageFormat, err: Exception) -> ValidationError:
    """The refusal for a decoder's error: Pillow's bomb check is too many pixels, memory too expensive; truncated
    when the decoder ran out of data, else corrupt. The error's type stays in the message, so that a decoder bug
    is told apart from a broken file where it is stored."""
    from PIL import Image

    if isinstance(err, Image.DecompressionBombError):
        return ValidationError(Reason.TOO_MANY_PIXELS, str(err))
    if isinstance(err, MemoryError):
        return ValidationError(Reason.TOO_EXPENSIVE, f"the {fmt.value} image needs more memory")
    reason = Reason.TRUNCATED if "truncated" in str(err).lower() else Reason.CORRUPT
    return ValidationError(reason, f"the {fmt.value} image cannot be decoded: {type(err).__name__}: {err}")


def _is_metadata_bomb(err: ValueError) -> bool:
    """Pillow's refusal of compressed text and ICC chunks that inflate past its bounds (PngImagePlugin's
    MAX_TEXT_CHUNK and MAX_TEXT_MEMORY): a decompression bomb in the metadata."""
    text = str(err)
    return "Decompressed data too large" in text or "Too much memory used in text chunks" in text


def _inspect(data: bytes, fmt: ImageFormat, limits: Limits) -> ImageInfo:
    from PIL import Image

    # Markup first: a file that carries a script is a polyglot whatever else is wrong with it (a web shell behind
    # PNG magic is also a broken PNG, but that is not what an operator needs to know about it).
    if _MARKUP.search(data):
        raise ValidationError(Reason.POLYGLOT, "the file embeds HTML/script markup")
    shape = structure.walk(fmt.value, data, limits.max_frames)  # bounded by the caps, before any decoder runs
    if shape.frames is not None and shape.frames > limits.max_frames:
        raise ValidationError(Reason.TOO_MANY_FRAMES, f"more than {limits.max_frames} frames")
    with warnings.catch_warnings():
        # Our own caps below are stricter; Pillow's warnings (bombs, corrupt EXIF) must not leak into logs.
        warnings.simplefilter("ignore")
        with Image.open(io.BytesIO(data), formats=[PIL_NAMES[fmt]]) as image:  # header only, no decode
            width, height = image.size
            mode = image.mode
            if width < 1 or height < 1:
                raise ValidationError(Reason.CORRUPT, f"impossible dimensions {width}x{height}")
            _check_dimensions(width, height, limits)
            # Where the walker counted, Pillow must not: its count seeks through every frame.
            frames = shape.frames if shape.frames is not None else int(getattr(image, "n_frames", 1))
            orientation = _orientation(image, fmt)
    if frames > limits.max_frames:
        raise ValidationError(Reason.TOO_MANY_FRAMES, f"more than {limits.max_frames} frames")
    return ImageInfo(fmt, width, height, frames, mode, len(data), orientation)


# How much of a file pixels_in_header reads: a JPEG's size (SOF) comes after its EXIF and ICC segments, which
# cameras and editors keep well under this; PNG, GIF, WebP and AVIF give theirs in the first few hundred bytes.
HEADER_BYTES = 256 * 1024


def pixels_in_header(head: bytes) -> int | None:
    """Width x height of an image as its header states them, from the first bytes of its file only (what a ranged
    read returns): nothing is decoded. None when the bytes are no accepted format, or its header does not fit in
    them (a TIFF whose directory sits at the end, a JPEG with larger metadata): the caller decides without it."""
    from PIL import Image

    try:
        fmt = sniff(head)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a bomb's header is still a header: its size is the answer
            with Image.open(io.BytesIO(head), formats=[PIL_NAMES[fmt]]) as image:
                width, height = image.size
    except Image.DecompressionBombError as err:  # past twice Pillow's own limit: Pillow says so, not the size
        found = re.search(rb"(\d+) pixels", str(err).encode())
        return int(found.group(1)) if found else None
    except (ValidationError, OSError, SyntaxError, ValueError, struct.error, EOFError):
        return None
    return width * height if width > 0 and height > 0 else None


PIL_NAMES = {
    ImageFormat.JPEG: "JPEG",
    ImageFormat.PNG: "PNG",
    ImageFormat.WEBP: "WEBP",
    ImageFormat.GIF: "GIF",
    ImageFormat.AVIF: "AVIF",
    ImageFormat.TIFF: "TIFF",
}


def _check_dimensions(width: int, height: int, limits: Limits) -> None:
    if max(width, height) > limits.max_edge:
        raise ValidationError(Reason.DIMENSION_TOO_LARGE, f"{width}x{height}: an edge exceeds {limits.max_edge} pixels")
    if width * height > limits.max_pixels:
        raise ValidationError(
            Reason.TOO_MANY_PIXELS, f"{width}x{height} = {width * height} pixels exceeds {limits.max_pixels}"
        )


MAX_FILENAME_CHARS = 1024  # the API's documented bound (docs/api/openapi.yaml)
_UNSAFE_FILENAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\]")


def clean_filename(name: str) -> str:
    """A display-safe file name: NFC, no control characters or path separators. A name longer than
    MAX_FILENAME_CHARS is refused, never cut: a shortened name is not the one the client sent.

    Only ever stored as metadata; object keys are server-generated ids, never derived from it.
    """
    if len(name) > MAX_FILENAME_CHARS:
        raise ValidationError(
            Reason.BAD_FILENAME, f"the file name is {len(name)} characters; at most {MAX_FILENAME_CHARS}"
        )
    cleaned = _UNSAFE_FILENAME_CHARS.sub("_", unicodedata.normalize("NFC", name)).strip().lstrip(".")
    cleaned = "".join(ch for ch in cleaned if unicodedata.category(ch) not in ("Cf", "Co", "Cs"))
    if not any(ch.isalnum() for ch in cleaned):
        raise ValidationError(Reason.BAD_FILENAME, "the file name has no letters or digits once made safe")
    return cleaned
