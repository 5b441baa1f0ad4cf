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
import unicodedata
import warnings
from dataclasses import dataclass
from enum import StrEnum

from PIL import Image, UnidentifiedImageError


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


class Reason(StrEnum):
    """Why an image was refused. Values are stable: they are stored and counted."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    UNSUPPORTED_TYPE = "unsupported_type"  # declared type outside the allowlist
    UNKNOWN_FORMAT = "unknown_format"  # the bytes are no image format we accept
    TYPE_MISMATCH = "type_mismatch"  # declared one format, bytes are another
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    POLYGLOT = "polyglot"  # trailing data or embedded markup: the file is also something else
    TOO_MANY_PIXELS = "too_many_pixels"
    DIMENSION_TOO_LARGE = "dimension_too_large"
    TOO_MANY_FRAMES = "too_many_frames"
    BAD_FILENAME = "bad_filename"
    SIZE_MISMATCH = "size_mismatch"  # a presigned upload's bytes differ in size from what was declared
    CHECKSUM_MISMATCH = "checksum_mismatch"  # ... or from the SHA-256 the client declared
    BAD_ENVELOPE = "bad_envelope"  # a Kafka record's claim-check JSON or headers are malformed
    REFERENCE_NOT_ALLOWED = "reference_not_allowed"  # a claim-check names an object outside the staging prefix
    REFERENCE_MISSING = "reference_missing"  # ... or one that does not exist
    UNKNOWN_SOURCE = "unknown_source"  # a Kafka record from a source no tenant is configured for
    MALWARE = "malware"  # GuardDuty Malware Protection for S3 tagged the raw object THREATS_FOUND
    NOT_SCANNED = "not_scanned"  # a scan is required and GuardDuty could not scan it (UNSUPPORTED, FAILED, ...)

    @property
    def http_status(self) -> int:
        return {
            Reason.TOO_LARGE: 413,
            Reason.UNSUPPORTED_TYPE: 415,
            Reason.UNKNOWN_FORMAT: 415,
            Reason.TYPE_MISMATCH: 415,
            Reason.EMPTY: 400,
            Reason.BAD_FILENAME: 400,
        }.get(self, 422)


class ValidationError(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    @property
    def http_status(self) -> int:
        return self.reason.http_status


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000  # per frame; a 24 MP camera image fits twice
    max_edge: int = 16_384  # also refuses 1 x 100 000 strips whose pixel count alone looks harmless
    max_frames: int = 100

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_pixels, self.max_edge, self.max_frames) < 1:
            raise ValueError("every limit must be at least 1")


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
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return ImageFormat.TIFF
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return ImageFormat.AVIF
    raise ValidationError(Reason.UNKNOWN_FORMAT, "the content is not a JPEG, PNG, WebP, GIF, AVIF or TIFF image")


# Markup that turns an image into a polyglot a browser or interpreter would run. Seven-plus fixed bytes: random
# compressed data matches one by chance about once in 2^56 positions.
_MARKUP = re.compile(rb"<(?:script|html|body|iframe|svg|\?php)[\s>/]", re.IGNORECASE)


def _check_structure(fmt: ImageFormat, data: bytes) -> None:
    """Cheap end-of-file checks: truncation and data appended after the image (ZIP/HTML polyglots)."""
    if fmt is ImageFormat.JPEG:
        end = data.rfind(b"\xff\xd9")
        if end == -1:
            raise ValidationError(Reason.TRUNCATED, "JPEG has no end-of-image marker")
        if data[end + 2 :].strip(b"\x00\r\n"):
            raise ValidationError(Reason.POLYGLOT, f"{len(data) - end - 2} bytes follow the JPEG end marker")
    elif fmt is ImageFormat.PNG:
        end = data.rfind(b"IEND\xaeB`\x82")
        if end == -1:
            raise ValidationError(Reason.TRUNCATED, "PNG has no IEND chunk")
        if len(data) > end + 8:
            raise ValidationError(Reason.POLYGLOT, f"{len(data) - end - 8} bytes follow the PNG IEND chunk")
    elif fmt is ImageFormat.WEBP:
        declared = struct.unpack("<I", data[4:8])[0] + 8
        if len(data) < declared:
            raise ValidationError(Reason.TRUNCATED, f"WebP declares {declared} bytes, has {len(data)}")
        if len(data) > declared + (declared & 1):
            raise ValidationError(Reason.POLYGLOT, f"{len(data) - declared} bytes follow the WebP RIFF chunk")
    elif fmt is ImageFormat.AVIF:
        _check_boxes(data)
    if _MARKUP.search(data):
        raise ValidationError(Reason.POLYGLOT, "the file embeds HTML/script markup")


def _check_boxes(data: bytes) -> None:
    """ISO-BMFF (AVIF): top-level boxes must tile the file exactly."""
    offset = 0
    while offset < len(data):
        if offset + 8 > len(data):
            raise ValidationError(Reason.TRUNCATED, "AVIF ends inside a box header")
        size = struct.unpack(">I", data[offset : offset + 4])[0]
        if size == 1:
            if offset + 16 > len(data):
                raise ValidationError(Reason.TRUNCATED, "AVIF ends inside a box header")
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        if size < 8:
            raise ValidationError(Reason.CORRUPT, "AVIF box with an impossible size")
        if offset + size > len(data):
            raise ValidationError(Reason.TRUNCATED, "AVIF ends inside a box")
        offset += size


def count_gif_frames(data: bytes, cap: int) -> int:
    """Counts GIF image descriptors by walking the block structure, without decompressing anything.

    Stops as soon as the count passes `cap`, so a GIF with a million one-pixel frames costs next to nothing.
    """

    def skip_sub_blocks(pos: int) -> int:
        while True:
            if pos >= len(data):
                raise ValidationError(Reason.TRUNCATED, "GIF ends inside a data block")
            length = data[pos]
            pos += 1 + length
            if length == 0:
                return pos

    if len(data) < 13:
        raise ValidationError(Reason.TRUNCATED, "GIF header is incomplete")
    flags = data[10]
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    while True:
        if pos >= len(data):
            raise ValidationError(Reason.TRUNCATED, "GIF has no trailer")
        block = data[pos]
        if block == 0x3B:  # trailer
            if data[pos + 1 :].strip(b"\x00"):
                raise ValidationError(Reason.POLYGLOT, f"{len(data) - pos - 1} bytes follow the GIF trailer")
            return frames
        if block == 0x21:  # extension: label, then sub-blocks
            pos = skip_sub_blocks(pos + 2)
        elif block == 0x2C:  # image descriptor, optional local colour table, LZW code size, sub-blocks
            frames += 1
            if frames > cap:
                return frames
            if pos + 10 > len(data):
                raise ValidationError(Reason.TRUNCATED, "GIF ends inside an image descriptor")
            local = data[pos + 9]
            pos += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            pos = skip_sub_blocks(pos + 1)
        else:
            raise ValidationError(Reason.CORRUPT, f"unexpected GIF block 0x{block:02x} at byte {pos}")


def inspect(data: bytes, declared_type: str | None = None, limits: Limits | None = None) -> ImageInfo:
    """Validates an image from its bytes without decoding its pixels; raises ValidationError with a reason."""
    limits = limits or Limits()
    if not data:
        raise ValidationError(Reason.EMPTY, "the upload is empty")
    if len(data) > limits.max_bytes:
        raise ValidationError(Reason.TOO_LARGE, f"{len(data)} bytes exceeds the limit of {limits.max_bytes}")
    declared = format_from_mime(declared_type) if declared_type is not None else None
    fmt = sniff(data)
    if declared is not None and declared is not fmt:
        raise ValidationError(Reason.TYPE_MISMATCH, f"declared {declared.mime_type} but the content is {fmt.value}")
    _check_structure(fmt, data)

    gif_frames = count_gif_frames(data, limits.max_frames) if fmt is ImageFormat.GIF else None
    try:
        with warnings.catch_warnings():
            # Our own caps below are stricter; Pillow's bomb warning must not leak into logs as noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[PIL_NAMES[fmt]]) as image:  # header only, no decode
                width, height = image.size
                mode = image.mode
                if width < 1 or height < 1:
                    raise ValidationError(Reason.CORRUPT, f"impossible dimensions {width}x{height}")
                _check_dimensions(width, height, limits)
                frames = gif_frames if gif_frames is not None else int(getattr(image, "n_frames", 1))
                orientation = _orientation(image, fmt)
    except Image.DecompressionBombError as err:
        raise ValidationError(Reason.TOO_MANY_PIXELS, str(err)) from None
    except (UnidentifiedImageError, SyntaxError, struct.error, ValueError, OSError, EOFError) as err:
        raise ValidationError(Reason.CORRUPT, f"the {fmt.value} header cannot be read: {err}") from None
    if frames > limits.max_frames:
        raise ValidationError(Reason.TOO_MANY_FRAMES, f"more than {limits.max_frames} frames")
    return ImageInfo(fmt, width, height, frames, mode, len(data), orientation)


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
