"""Hostile image files, built by the tests (no downloaded corpus).

Two kinds:
- `seeds()`: small valid files of every allowlisted format and its variants (progressive JPEG with an EXIF
  thumbnail, 16-bit and animated PNG, lossless and animated WebP, multi-page TIFF and BigTIFF, AVIF), the
  material that truncations, bit flips and splices start from;
- `attacks()`: files made to cost work rather than to be wrong — tens of thousands of pages, frames, scans,
  markers or chunks, page chains that loop or point outside the file, compression bombs in metadata chunks —
  each with the reasons it may be refused with (an empty set: it is a valid image and must be processed).

`structural_cuts(data)` gives the offsets where each format's structure changes (segment, chunk, box, page and
block boundaries, each with its neighbours), where truncation tests cut.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from PIL import Image

from imgpipe.errors import Reason
from tests.imaging import encode, png_chunk


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    reasons: frozenset[Reason]  # the refusals that are right for it; empty: it must be processed


def _card(size: tuple[int, int] = (48, 32), mode: str = "RGB") -> Image.Image:
    image = Image.linear_gradient("L").resize(size).convert(mode)
    if mode in ("RGB", "RGBA"):
        image.paste((200, 30, 30) if mode == "RGB" else (200, 30, 30, 128), (0, 0, size[0] // 2, size[1] // 2))
    return image


def jpeg_with_exif_thumbnail(progressive: bool = False, size: tuple[int, int] = (320, 240)) -> bytes:
    """A camera-style JPEG: an APP1 EXIF block that carries a JPEG thumbnail (with its own SOI/EOI markers)."""
    thumbnail = encode(_card((64, 48)), "JPEG", quality=70)
    exif = Image.Exif()
    exif[0x010F] = "Imgpipe Optics"
    exif[0x0112] = 1
    body = encode(_card(size), "JPEG", quality=85, progressive=progressive)
    app1 = b"Exif\x00\x00" + exif.tobytes()[6:] + thumbnail
    return body[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + body[2:]


def _frames(count: int, size: tuple[int, int] = (8, 8)) -> list[Image.Image]:
    return [Image.new("RGB", size, (i * 37 % 256, i * 91 % 256, 128)) for i in range(count)]


@cache
def seeds() -> tuple[Case, ...]:
    frames = _frames(3)
    grey16 = Image.new("I;16", (40, 30))
    grey16.putdata([(x * 97 + y * 13) % 4096 for y in range(30) for x in range(40)])
    cases = [
        Case("jpeg", encode(_card(), "JPEG", quality=80), frozenset()),
        Case("jpeg-progressive-exif-thumb", jpeg_with_exif_thumbnail(progressive=True), frozenset()),
        Case("png-rgba", encode(_card(mode="RGBA"), "PNG"), frozenset()),
        Case("png-palette", encode(_card().convert("P"), "PNG"), frozenset()),
        Case("png-16bit-grey", encode(grey16, "PNG"), frozenset()),
        Case("apng", encode(frames[0], "PNG", save_all=True, append_images=frames[1:]), frozenset()),
        Case("webp-lossy", encode(_card(), "WEBP", quality=70), frozenset()),
        Case("webp-lossless-alpha", encode(_card(mode="RGBA"), "WEBP", lossless=True), frozenset()),
        Case("webp-animated", encode(frames[0], "WEBP", save_all=True, append_images=frames[1:]), frozenset()),
        Case("gif-animated", encode(frames[0], "GIF", save_all=True, append_images=frames[1:]), frozenset()),
        Case("tiff-multipage", encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]), frozenset()),
        Case("tiff-deflate", encode(_card(), "TIFF", compression="tiff_adobe_deflate"), frozenset()),
        Case("bigtiff", encode(_card(), "TIFF", big_tiff=True), frozenset()),
        Case("avif", encode(_card(), "AVIF", quality=50, speed=10), frozenset()),
    ]
    return tuple(cases)


# ------------------------------------------------------------------------------------------ attacks


def tiff_pages(pages: int, *, big: bool = False, last_next: str = "end", drop_width_on: int | None = None) -> bytes:
    """A TIFF of `pages` 1x1 greyscale pages written by hand (Pillow takes seconds to write 50,000). The last
    page's next-page offset: "end" (0), "loop" (back to the first page), "past-end", or "pixels" (into the
    pixel bytes, which follow all the pages)."""
    order = "<"
    entry = "HHQQ" if big else "HHII"
    count_fmt, next_fmt = ("Q", "Q") if big else ("H", "I")
    header = b"II+\x00" + struct.pack("<HHQ", 8, 0, 16) if big else b"II*\x00" + struct.pack("<I", 8)
    tags_per_page = 8
    ifd_size = (
        struct.calcsize(order + count_fmt)
        + tags_per_page * struct.calcsize(order + entry)
        + struct.calcsize(order + next_fmt)
    )
    first = len(header)
    pixel_at = first + pages * ifd_size  # every page's single pixel byte lives after all the pages
    out = bytearray(header)
    for page in range(pages):
        tags = [
            (256, 4, 1, 1),  # ImageWidth
            (257, 4, 1, 1),  # ImageLength
            (258, 3, 1, 8),  # BitsPerSample
            (259, 3, 1, 1),  # Compression: none
            (262, 3, 1, 1),  # Photometric: black is zero
            (273, 4, 1, pixel_at + page),  # StripOffsets
            (278, 4, 1, 1),  # RowsPerStrip
            (279, 4, 1, 1),  # StripByteCounts
        ]
        if drop_width_on == page:
            tags[0] = (305, 2, 1, 0)  # Software (empty) in place of the width
        if page == pages - 1:
            next_offset = {"end": 0, "loop": first, "past-end": 10**9, "pixels": pixel_at}[last_next]
        else:
            next_offset = first + (page + 1) * ifd_size
        out += struct.pack(order + count_fmt, len(tags))
        for tag, kind, count, value in tags:
            out += struct.pack(order + entry, tag, kind, count, value)
        out += struct.pack(order + next_fmt, next_offset)
    out += bytes(range(pages)) if pages <= 256 else bytes(i % 256 for i in range(pages))
    return bytes(out)


def progressive_jpeg_with_scans(extra_scans: int) -> bytes:
    """A progressive JPEG whose last scan is repeated: thousands of scans, each of which a decoder walks."""
    data = encode(_card((64, 64)), "JPEG", quality=80, progressive=True)
    last_sos = data.rfind(b"\xff\xda")
    scan = data[last_sos:-2]
    return data[:-2] + scan * extra_scans + b"\xff\xd9"


def jpeg_with_markers(count: int) -> bytes:
    data = encode(_card(), "JPEG", quality=80)
    comment = b"\xff\xfe\x00\x04ok"
    return data[:2] + comment * count + data[2:]


def jpeg_with_fill_bytes(count: int, end: bool = True) -> bytes:
    """A JPEG whose image data runs into `count` fill bytes (0xFF, legal before any marker), then its end-of-image
    marker, or nothing (cut short): a scanner that retries the run from each of its bytes is quadratic in it."""
    data = encode(_card(), "JPEG", quality=80)
    return data[:-2] + b"\xff" * count + (b"\xff\xd9" if end else b"")


def jpeg_with_fill_before_a_marker(count: int) -> bytes:
    """A JPEG with `count` fill bytes between its start-of-image and its first segment: legal, and stepped over
    a byte at a time by a marker reader written in Python (Pillow's, before the first scan)."""
    data = encode(_card(), "JPEG", quality=80)
    return data[:2] + b"\xff" * count + data[2:]


def png_with_chunks(count: int) -> bytes:
    data = encode(_card(), "PNG")
    iend = data.rfind(b"IEND") - 4
    return data[:iend] + png_chunk(b"tEXt", b"k\x00v") * count + data[iend:]


def png_with_zlib_bomb(kind: bytes) -> bytes:
    """zTXt/iTXt/iCCP chunks each inflating to 64 MiB: megabytes of metadata from kilobytes of file."""
    bomb = zlib.compress(b"\x00" * (64 << 20), 9)
    if kind == b"zTXt":
        payload = b"Comment\x00\x00" + bomb
    elif kind == b"iTXt":
        payload = b"Comment\x00\x01\x00\x00\x00" + bomb
    else:
        payload = b"icc\x00\x00" + bomb
    data = encode(_card(), "PNG")
    after_ihdr = 8 + 25
    chunks = png_chunk(kind, payload) * (1 if kind == b"iCCP" else 4)
    return data[:after_ihdr] + chunks + data[after_ihdr:]


def apng_declaring_frames(declared: int) -> bytes:
    frames = _frames(2)
    data = encode(frames[0], "PNG", save_all=True, append_images=frames[1:])
    at = data.find(b"acTL") - 4
    return data[:at] + png_chunk(b"acTL", struct.pack(">II", declared, 0)) + data[at + 20 :]


def webp_with_frames(count: int) -> bytes:
    """An animated WebP whose one frame (ANMF chunk) is repeated `count` times, sizes fixed up."""
    frames = _frames(2, (4, 4))
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    first = data.find(b"ANMF")
    size = struct.unpack_from("<I", data, first + 4)[0]
    anmf = data[first : first + 8 + size + (size & 1)]
    body = data[12:first] + anmf * count
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def _one_pixel_gif() -> tuple[bytes, int]:
    """A one-pixel GIF and the offset of its image descriptor (after the header and colour table)."""
    one = encode(Image.new("P", (1, 1)), "GIF")
    return one, one.find(b"\x2c")


def gif_with_frames(count: int) -> bytes:
    one, descriptor = _one_pixel_gif()
    frame = one[descriptor:-1]
    return one[:descriptor] + frame * count + b"\x3b"


def gif_with_sub_blocks(count: int) -> bytes:
    """A one-pixel GIF whose comment extension is `count` one-byte sub-blocks: walked two bytes at a time."""
    one, descriptor = _one_pixel_gif()
    return one[:descriptor] + b"\x21\xfe" + b"\x01x" * count + b"\x00" + one[descriptor:]


def gif_with_extensions(count: int) -> bytes:
    """A one-pixel GIF preceded by `count` empty comment extensions: each a block Pillow's reader visits."""
    one, descriptor = _one_pixel_gif()
    return one[:descriptor] + b"\x21\xfe\x00" * count + one[descriptor:]


def avif_with_boxes(count: int) -> bytes:
    return encode(_card(), "AVIF", quality=50, speed=10) + struct.pack(">I4s", 8, b"free") * count


@cache
def attacks() -> tuple[Case, ...]:
    broken = frozenset({Reason.CORRUPT, Reason.TRUNCATED})
    return (
        Case("tiff-50000-pages", tiff_pages(50_000), frozenset({Reason.TOO_MANY_FRAMES})),
        Case("bigtiff-50000-pages", tiff_pages(50_000, big=True), frozenset({Reason.TOO_MANY_FRAMES})),
        Case("tiff-page-chain-loops", tiff_pages(3, last_next="loop"), frozenset({Reason.CORRUPT})),
        Case("tiff-page-past-the-end", tiff_pages(3, last_next="past-end"), frozenset({Reason.TRUNCATED})),
        Case("tiff-page-into-pixel-data", tiff_pages(3, last_next="pixels"), broken),
        Case("tiff-page-without-width", tiff_pages(3, drop_width_on=2), frozenset({Reason.CORRUPT})),
        Case("tiff-100-pages", tiff_pages(100), frozenset()),
        Case("jpeg-5000-scans", progressive_jpeg_with_scans(5_000), frozenset({Reason.TOO_EXPENSIVE})),
        Case("jpeg-50000-markers", jpeg_with_markers(50_000), frozenset({Reason.TOO_EXPENSIVE})),
        Case("jpeg-1000000-fill-bytes", jpeg_with_fill_bytes(1_000_000), frozenset()),
        Case("jpeg-1000000-fill-bytes-no-end", jpeg_with_fill_bytes(1_000_000, end=False), broken),
        Case(
            "jpeg-1000000-fill-bytes-before-a-marker",
            jpeg_with_fill_before_a_marker(1_000_000),
            frozenset({Reason.TOO_EXPENSIVE}),
        ),
        Case("png-100000-chunks", png_with_chunks(100_000), frozenset({Reason.TOO_EXPENSIVE})),
        Case("png-ztxt-bombs", png_with_zlib_bomb(b"zTXt"), frozenset({Reason.TOO_EXPENSIVE})),
        Case("png-itxt-bombs", png_with_zlib_bomb(b"iTXt"), frozenset({Reason.TOO_EXPENSIVE})),
        Case("png-iccp-bomb", png_with_zlib_bomb(b"iCCP"), frozenset({Reason.TOO_EXPENSIVE})),
        Case("apng-declaring-a-million-frames", apng_declaring_frames(1_000_000), frozenset({Reason.TOO_MANY_FRAMES})),
        Case("webp-100000-frames", webp_with_frames(100_000), frozenset({Reason.TOO_MANY_FRAMES})),
        Case("gif-500000-frames", gif_with_frames(500_000), frozenset({Reason.TOO_MANY_FRAMES})),
        Case("gif-1000000-sub-blocks", gif_with_sub_blocks(1_000_000), frozenset({Reason.TOO_EXPENSIVE})),
        Case("gif-100000-extensions", gif_with_extensions(100_000), frozenset({Reason.TOO_EXPENSIVE})),
        Case("avif-100000-boxes", avif_with_boxes(100_000), frozenset({Reason.TOO_EXPENSIVE})),
    )


# ------------------------------------------------------------------------------------------ cuts


def structural_cuts(data: bytes) -> list[int]:
    """Offsets at and next to each structural boundary of `data` (any allowlisted format), plus a few fractions
    of the length: where a file cut short exposes a parser's assumptions."""
    bounds: set[int] = {1, 2, 4, 8, 12, 16, len(data) // 3, len(data) // 2, len(data) - 1, len(data) - 2}
    if data[:2] == b"\xff\xd8":
        pos = 2
        while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] not in (0xD9, 0xDA):
            bounds.add(pos)
            pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
        bounds.add(pos)
        bounds.update(i for i in range(pos, len(data) - 1) if data[i] == 0xFF and data[i + 1] not in (0, 0xFF))
    elif data[:4] == b"\x89PNG":
        pos = 8
        while pos + 8 <= len(data):
            bounds.update((pos, pos + 4, pos + 8))
            pos += 12 + struct.unpack_from(">I", data, pos)[0]
    elif data[:4] == b"RIFF":
        pos = 12
        while pos + 8 <= len(data):
            bounds.update((pos, pos + 4, pos + 8))
            size = struct.unpack_from("<I", data, pos + 4)[0]
            # descend into ANMF frames, whose payload is itself chunks after a 16-byte frame header
            pos = pos + 24 if data[pos : pos + 4] == b"ANMF" else pos + 8 + size + (size & 1)
    elif data[4:8] == b"ftyp":
        pos = 0
        while pos + 8 <= len(data):
            bounds.update((pos, pos + 4, pos + 8))
            size = struct.unpack_from(">I", data, pos)[0]
            if size < 8:
                break
            pos += size
    elif data[:2] in (b"II", b"MM"):
        bounds.update(range(0, min(len(data), 4096), 4))
    elif data[:3] == b"GIF":
        bounds.update(range(0, len(data), 3))
    return sorted({b for b in bounds for b in (b - 1, b, b + 1) if 0 < b < len(data)})


def truncations(case: Case) -> Iterator[bytes]:
    for cut in structural_cuts(case.data):
        yield case.data[:cut]


def tiff_cut_after_first_page() -> bytes:
    """Any multi-page TIFF cut short after its first page: the later pages' offsets point past the end."""
    frames = _frames(3, (50, 50))
    data = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    return data[: len(data) // 2 + 200]


def at_the_caps() -> tuple[Case, ...]:
    """Decompression bombs that stay within every cap: the most pixels a frame may have (50 MP) from a few
    kilobytes of file, in each lossless format. Valid images that cost the most decoding; `make bench` times
    them (too slow to build for every test run)."""
    side = 7_071  # 7,071^2 = 49,999,041 pixels: just under max_pixels
    flat = Image.new("RGB", (side, side), (12, 90, 160))
    grey16 = Image.new("I;16", (side, side), 3000)
    return (
        Case("png-50mp-rgba", encode(flat.convert("RGBA"), "PNG", compress_level=9), frozenset()),
        Case("png-50mp-16bit-grey", encode(grey16, "PNG", compress_level=9), frozenset()),
        Case("tiff-50mp-deflate", encode(flat, "TIFF", compression="tiff_adobe_deflate"), frozenset()),
        Case("webp-50mp-lossless", encode(flat, "WEBP", lossless=True), frozenset()),
        Case("gif-50mp", encode(Image.new("P", (16_000, 3_125)), "GIF"), frozenset()),
        Case("avif-50mp", encode(flat, "AVIF", quality=50, speed=10), frozenset()),
    )


def png_with_undecodable_pixels() -> bytes:
    """Headers, chunk structure and CRCs all valid; the compressed pixel data is not zlib: only a decode tells."""
    data = encode(_card(), "PNG")
    at = data.find(b"IDAT") - 4
    length = struct.unpack_from(">I", data, at)[0]
    garbage = bytes((i * 131 + 7) % 256 for i in range(length))
    return data[:at] + png_chunk(b"IDAT", garbage) + data[at + 12 + length :]
