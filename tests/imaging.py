"""Test images made on the fly: EXIF-tagged photos, ICC-tagged images, every mode and format."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import Image

# s15Fixed16 XYZ of the sRGB primaries adapted to D50 (the ICC connection space) and the D50 white point.
_SRGB_RED = (0.4361, 0.2225, 0.0139)
_SRGB_GREEN = (0.3851, 0.7169, 0.0971)
_SRGB_BLUE = (0.1431, 0.0606, 0.7141)
_D50 = (0.9642, 1.0, 0.8249)


def _xyz(values: tuple[float, float, float]) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def _desc(text: str) -> bytes:
    ascii_text = text.encode() + b"\0"
    return b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_text)) + ascii_text + b"\0" * 8 + b"\0" * 3 + b"\0" * 67


def swapped_primaries_icc() -> bytes:
    """A valid ICC v2 RGB display profile whose red and green primaries are sRGB's green and red: a pixel that
    is red in this profile is green in sRGB. Makes colour conversion visible in a test."""
    gamma = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", int(2.2 * 256)) + b"\0\0"
    tags = [
        (b"desc", _desc("imgpipe test: swapped primaries")),
        (b"wtpt", _xyz(_D50)),
        (b"rXYZ", _xyz(_SRGB_GREEN)),
        (b"gXYZ", _xyz(_SRGB_RED)),
        (b"bXYZ", _xyz(_SRGB_BLUE)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        padded = data + b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += padded
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + b"".join(struct.pack(">i", round(v * 65536)) for v in _D50)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def upright_test_card(width: int = 120, height: int = 80) -> Image.Image:
    """Asymmetric: red top-left quadrant, blue bottom-right, green elsewhere — every orientation looks different."""
    card = Image.new("RGB", (width, height), (0, 160, 0))
    card.paste((220, 0, 0), (0, 0, width // 2, height // 2))
    card.paste((0, 0, 220), (width // 2, height // 2, width, height))
    return card


# What to do to an upright image so that a viewer applying EXIF orientation N shows it upright again.
STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def photo_with_exif(orientation: int = 1, gps: bool = True, image: Image.Image | None = None) -> bytes:
    """A JPEG as a phone would write it: camera make/model, capture time, orientation and a GPS position."""
    upright = image or upright_test_card()
    transpose = STORE_FOR_ORIENTATION[orientation]
    stored = upright.transpose(transpose) if transpose is not None else upright
    exif = Image.Exif()
    exif[0x010F] = "Imgpipe Optics"
    exif[0x0110] = "Test Camera 1"
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = "2026:11:20 10:30:00"
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def handmade_png(width: int, height: int) -> bytes:
    """A structurally valid PNG header declaring any size, with a tiny IDAT: the shape of a PNG bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + png_chunk(b"IEND", b"")
    )


def animated_gif(frames: int) -> bytes:
    images = [Image.new("P", (4, 4), i % 256) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=10, optimize=False)
    return buffer.getvalue()


def padded_png(total: int, image: Image.Image | None = None) -> bytes:
    """A valid PNG of exactly `total` bytes, for size limits: `image` (a small blue one by default) and a private
    ancillary chunk of padding, which decoders skip (so it costs nothing to process)."""
    base = encode(image or Image.new("RGB", (32, 24), (10, 120, 200)), "PNG")
    pad = total - len(base) - 12
    data = base[:-12] + png_chunk(b"prVt", b"\0" * pad) + base[-12:]
    assert len(data) == total
    return data
