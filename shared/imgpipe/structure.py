"""Container walkers: where an image file really ends, and how many frames it holds, from its structure alone.

Each allowlisted format is walked by its own grammar (JPEG segments and entropy-coded data, PNG chunks, RIFF
chunks, TIFF/BigTIFF page chains, ISO-BMFF boxes, GIF blocks), so that
- the end of the image is where the structure ends, not where a byte pattern last occurs: a JPEG's EXIF
  thumbnail carries its own end-of-image marker, and data appended after an image may happen to end in one;
- every count (pages, frames, scans, markers, chunks, boxes, blocks) stops at its cap + 1: a file is never walked to
  the end to learn that it is too big, so the work per file is bounded by the caps, not by the file;
- every malformation is a ValidationError with a precise reason, never an exception of the parser.

Written by hand because no maintained library walks these containers with caps and exact offsets (Pillow's
plugins count frames by seeking through every one, and raise parser errors). Pure: bytes in, numbers out.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from imgpipe.errors import Reason, ValidationError

# Bytes tolerated after the end of any image: some writers pad files with NULs or end them with a newline.
TRAILING_PADDING = b"\x00\t\n\r "

# Structural work caps. Far above what any encoder writes (a camera JPEG has ~20 markers and 1-3 scans, a
# progressive one ~10 scans, a PNG a few hundred chunks, an AVIF ~5 top-level boxes, a TIFF page ~20 tags),
# far below what makes the decoders slow: each progressive scan walks every block of the image again.
MAX_JPEG_SCANS = 100
MAX_JPEG_MARKERS = 1_000
MAX_CHUNKS = 10_000  # PNG chunks, RIFF chunks, top-level ISO-BMFF boxes, GIF blocks
MAX_TIFF_TAGS = 1_000  # per page
MAX_EMBEDDED_JPEGS = 16  # multi-picture (MPF) JPEGs: the primary image and its previews/depth maps
# Fill bytes (0xFF) between segments, legal before any marker and written by no common encoder: Pillow steps over
# those before the first scan one byte at a time in Python (1 MB of them: 1.6 s before any pixel is decoded).
MAX_JPEG_FILL_BYTES = 1_024
# GIF data sub-blocks (at most 255 bytes each): an encoder fills them, so 10 MB of image data is ~41,000 of them;
# a file of 1-byte sub-blocks would be walked 2 bytes at a time.
MAX_GIF_SUB_BLOCKS = 100_000

_TIFF_WIDTH, _TIFF_LENGTH = 256, 257


@dataclass(frozen=True)
class Structure:
    frames: int | None  # counted by the walker (at most cap + 1); None when the decoder's own count is cheap


def _trailing(fmt: str, data: bytes, end: int) -> None:
    extra = data[end:]
    if extra and extra.strip(TRAILING_PADDING):
        raise ValidationError(Reason.POLYGLOT, f"{len(extra)} bytes follow the end of the {fmt} image")


# --------------------------------------------------------------------------------------------------- JPEG

# In entropy-coded data, FF is followed by 00 (a stuffed FF byte), D0-D7 (a restart marker) or more FFs (fill);
# anything else after a run of FFs is the next marker. One regex search, in C, instead of a loop per FF byte.
# It finds the run's last FF (the caller steps over fill bytes anyway): `\xff+` before the class would retry the
# run from each of its bytes, quadratic in a run of fill bytes (160 KB of them: 224 s; this: 4 ms).
_NEXT_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")
# A run of fill bytes before a marker, stepped over in C: a byte at a time, 10 MB of them took 0.7 s.
_FILL = re.compile(rb"\xff+")


def jpeg_end(data: bytes, start: int = 0) -> tuple[int, int]:
    """(offset just past the EOI marker, number of scans) of the JPEG stream at `start`."""
    n = len(data)
    if data[start : start + 2] != b"\xff\xd8":
        raise ValidationError(Reason.CORRUPT, f"no JPEG start-of-image at byte {start}")
    pos, scans, markers, filled = start + 2, 0, 0, 0
    while True:
        if pos >= n:
            raise ValidationError(Reason.TRUNCATED, "the JPEG ends before its end-of-image marker")
        if data[pos] != 0xFF:
            raise ValidationError(Reason.CORRUPT, f"the JPEG has no marker where one must be (byte {pos})")
        fill = _FILL.match(data, pos)  # fill bytes may precede any marker
        assert fill is not None  # data[pos] is 0xFF
        filled += fill.end() - pos - 1
        if filled > MAX_JPEG_FILL_BYTES:
            raise ValidationError(
                Reason.TOO_EXPENSIVE, f"the JPEG has more than {MAX_JPEG_FILL_BYTES} fill bytes between its segments"
            )
        pos = fill.end()
        if pos >= n:
            raise ValidationError(Reason.TRUNCATED, "the JPEG ends inside a marker")
        marker = data[pos]
        pos += 1
        markers += 1
        if markers > MAX_JPEG_MARKERS:
            raise ValidationError(Reason.TOO_EXPENSIVE, f"the JPEG has more than {MAX_JPEG_MARKERS} markers")
        if marker == 0xD9:
            return pos, scans
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue  # standalone markers carry no length
        if marker == 0xD8:
            raise ValidationError(Reason.CORRUPT, "a second JPEG start-of-image inside the image")
        if pos + 2 > n:
            raise ValidationError(Reason.TRUNCATED, "the JPEG ends inside a segment header")
        length = (data[pos] << 8) | data[pos + 1]
        if length < 2:
            raise ValidationError(Reason.CORRUPT, f"a JPEG segment with an impossible length at byte {pos}")
        if pos + length > n:
            raise ValidationError(Reason.TRUNCATED, f"the JPEG ends inside its 0x{marker:02X} segment")
        pos += length
        if marker == 0xDA:  # start of scan: entropy-coded data follows until the next marker
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise ValidationError(Reason.TOO_EXPENSIVE, f"the JPEG has more than {MAX_JPEG_SCANS} scans")
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                raise ValidationError(Reason.TRUNCATED, "the JPEG ends inside its image data")
            pos = found.start()


def _jpeg(data: bytes) -> Structure:
    end, scans = jpeg_end(data)
    if scans == 0:
        raise ValidationError(Reason.CORRUPT, "the JPEG has no image data (no start-of-scan)")
    # A multi-picture JPEG (MPF: phones' previews and depth maps) is complete JPEG streams back to back; anything
    # else after the first stream is appended data.
    for _ in range(MAX_EMBEDDED_JPEGS):
        if data[end : end + 3] != b"\xff\xd8\xff":
            break
        try:
            end, _scans = jpeg_end(data, end)
        except ValidationError as err:
            if err.reason is Reason.TOO_EXPENSIVE:
                raise
            raise ValidationError(
                Reason.POLYGLOT, f"data that is not a complete JPEG follows the image: {err}"
            ) from None
    _trailing("JPEG", data, end)
    return Structure(frames=None)  # Pillow's MPO count reads the MPF header only


# ---------------------------------------------------------------------------------------------------- PNG


def _png(data: bytes, max_frames: int) -> Structure:
    n, pos, chunks = len(data), 8, 0
    while True:
        if pos + 8 > n:
            raise ValidationError(Reason.TRUNCATED, "the PNG ends before its IEND chunk")
        length, kind = struct.unpack_from(">I4s", data, pos)
        if not kind.isalpha() or length > 0x7FFFFFFF:
            raise ValidationError(Reason.CORRUPT, f"a malformed PNG chunk at byte {pos}")
        if chunks == 0 and kind != b"IHDR":
            raise ValidationError(Reason.CORRUPT, "the PNG does not start with its IHDR chunk")
        end = pos + 12 + length
        if end > n:
            raise ValidationError(Reason.TRUNCATED, f"the PNG ends inside its {_name(kind)} chunk")
        chunks += 1
        if chunks > MAX_CHUNKS:
            raise ValidationError(Reason.TOO_EXPENSIVE, f"the PNG has more than {MAX_CHUNKS} chunks")
        if kind == b"acTL" and length >= 4:
            frames = struct.unpack_from(">I", data, pos + 8)[0]
            if frames > max_frames:
                raise ValidationError(Reason.TOO_MANY_FRAMES, f"the PNG declares {frames} frames; at most {max_frames}")
        if kind == b"IEND":
            _trailing("PNG", data, end)
            return Structure(frames=None)  # Pillow reads the count from acTL
        pos = end


def _name(kind: bytes) -> str:
    return repr(kind.decode("latin-1")) if kind.isalpha() else "a malformed"


# --------------------------------------------------------------------------------------------------- WebP


def _webp(data: bytes, max_frames: int) -> Structure:
    if len(data) < 12:
        raise ValidationError(Reason.TRUNCATED, "the WebP header is incomplete")
    declared = struct.unpack_from("<I", data, 4)[0] + 8
    if len(data) < declared:
        raise ValidationError(Reason.TRUNCATED, f"the WebP declares {declared} bytes, has {len(data)}")
    pos, chunks, frames = 12, 0, 0
    while pos < declared:
        if pos + 8 > declared:
            raise ValidationError(Reason.CORRUPT, "a WebP chunk header runs past the RIFF size")
        kind, size = struct.unpack_from("<4sI", data, pos)
        if not all(0x20 <= c <= 0x7E for c in kind):
            raise ValidationError(Reason.CORRUPT, f"a malformed WebP chunk at byte {pos}")
        end = pos + 8 + size + (size & 1)
        if pos + 8 + size > declared:
            raise ValidationError(Reason.CORRUPT, f"the WebP's {_name(kind)} chunk runs past the RIFF size")
        chunks += 1
        if chunks > MAX_CHUNKS:
            raise ValidationError(Reason.TOO_EXPENSIVE, f"the WebP has more than {MAX_CHUNKS} chunks")
        if kind == b"ANMF":
            frames += 1
            if frames > max_frames:
                raise ValidationError(Reason.TOO_MANY_FRAMES, f"the WebP has more than {max_frames} frames")
        pos = end
    _trailing("WebP", data, max(declared, min(pos, len(data))))
    return Structure(frames=max(frames, 1))


# --------------------------------------------------------------------------------------------------- TIFF


def _tiff(data: bytes, max_frames: int) -> Structure:
    """Walks the page (IFD) chain of a TIFF or BigTIFF: every page must lie inside the file, have a width and a
    length, and the chain must not loop. Pixel data is not looked at."""
    n = len(data)
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack_from(order + "H", data, 2)[0] == 43
    if big:
        if n < 16:
            raise ValidationError(Reason.TRUNCATED, "the BigTIFF header is incomplete")
        offset_size, zero = struct.unpack_from(order + "HH", data, 4)
        if offset_size != 8 or zero != 0:
            raise ValidationError(Reason.CORRUPT, "the BigTIFF header declares an unsupported offset size")
        offset = struct.unpack_from(order + "Q", data, 8)[0]
        count_fmt, entry_size, next_fmt, header = order + "Q", 20, order + "Q", 16
    else:
        if n < 8:
            raise ValidationError(Reason.TRUNCATED, "the TIFF header is incomplete")
        offset = struct.unpack_from(order + "I", data, 4)[0]
        count_fmt, entry_size, next_fmt, header = order + "H", 12, order + "I", 8
    count_size, next_size = struct.calcsize(count_fmt), struct.calcsize(next_fmt)
    tag_fmt = order + "H"
    pages, seen = 0, set()
    while offset:
        page = pages + 1
        if offset in seen:
            raise ValidationError(Reason.CORRUPT, f"the TIFF's page chain loops back at page {page}")
        seen.add(offset)
        if offset < header:
            raise ValidationError(Reason.CORRUPT, f"TIFF page {page} starts inside the header")
        if offset + count_size > n:
            raise ValidationError(Reason.TRUNCATED, f"TIFF page {page} lies past the end of the file")
        count = struct.unpack_from(count_fmt, data, offset)[0]
        if count == 0 or count > MAX_TIFF_TAGS:
            raise ValidationError(Reason.CORRUPT, f"TIFF page {page} declares {count} tags")
        entries = offset + count_size
        next_at = entries + count * entry_size
        if next_at + next_size > n:
            raise ValidationError(Reason.TRUNCATED, f"the TIFF ends inside page {page}'s tags")
        tags = {struct.unpack_from(tag_fmt, data, entries + i * entry_size)[0] for i in range(count)}
        if _TIFF_WIDTH not in tags or _TIFF_LENGTH not in tags:
            raise ValidationError(Reason.CORRUPT, f"TIFF page {page} has no width or length")
        pages = page
        if pages > max_frames:
            break  # cap + 1: enough to refuse, nothing more is read
        offset = struct.unpack_from(next_fmt, data, next_at)[0]
    if pages == 0:
        raise ValidationError(Reason.CORRUPT, "the TIFF has no pages")
    return Structure(frames=pages)


# --------------------------------------------------------------------------------------------------- AVIF


# Top-level ISO-BMFF boxes an AVIF file (still or sequence) may hold; anything else there is not part of it.
_TOP_LEVEL_BOXES = frozenset(b"ftyp meta mdat moov moof mfra free skip uuid styp sidx ssix emsg prft pdin wide".split())


def _avif(data: bytes) -> Structure:
    """ISO-BMFF: top-level boxes tile the file exactly (trailing padding aside)."""
    n, offset, boxes = len(data), 0, 0
    while offset < n:
        if (
            offset > 0
            and data[offset + 4 : offset + 8] not in _TOP_LEVEL_BOXES
            and data[offset:].strip(TRAILING_PADDING)
        ):
            raise ValidationError(Reason.POLYGLOT, f"{n - offset} bytes after the last AVIF box are not a box")
        if offset + 8 > n:
            if not data[offset:].strip(TRAILING_PADDING):
                break
            raise ValidationError(Reason.TRUNCATED, "the AVIF ends inside a box header")
        boxes += 1
        if boxes > MAX_CHUNKS:
            raise ValidationError(Reason.TOO_EXPENSIVE, f"the AVIF has more than {MAX_CHUNKS} top-level boxes")
        size = struct.unpack_from(">I", data, offset)[0]
        if size == 1:
            if offset + 16 > n:
                raise ValidationError(Reason.TRUNCATED, "the AVIF ends inside a box header")
            size = struct.unpack_from(">Q", data, offset + 8)[0]
        elif size == 0:
            size = n - offset
        if size < 8:
            if not data[offset:].strip(TRAILING_PADDING):
                break
            raise ValidationError(Reason.CORRUPT, "an AVIF box with an impossible size")
        if offset + size > n:
            if not data[offset:].strip(TRAILING_PADDING):
                break
            raise ValidationError(Reason.TRUNCATED, "the AVIF ends inside a box")
        offset += size
    return Structure(frames=None)  # libavif reads the count from the track's header


# ---------------------------------------------------------------------------------------------------- GIF


def _gif(data: bytes, max_frames: int) -> Structure:
    """Counts image descriptors by walking the block structure, without decompressing anything."""
    n = len(data)
    sub_blocks = 0

    def skip_sub_blocks(pos: int) -> int:
        nonlocal sub_blocks
        while True:
            if pos >= n:
                raise ValidationError(Reason.TRUNCATED, "the GIF ends inside a data block")
            length = data[pos]
            pos += 1 + length
            if length == 0:
                return pos
            sub_blocks += 1
            if sub_blocks > MAX_GIF_SUB_BLOCKS:
                raise ValidationError(
                    Reason.TOO_EXPENSIVE, f"the GIF has more than {MAX_GIF_SUB_BLOCKS} data sub-blocks"
                )

    if n < 13:
        raise ValidationError(Reason.TRUNCATED, "the GIF header is incomplete")
    flags = data[10]
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = blocks = 0
    while True:
        if pos >= n:
            raise ValidationError(Reason.TRUNCATED, "the GIF has no trailer")
        blocks += 1
        if blocks > MAX_CHUNKS:
            raise ValidationError(Reason.TOO_EXPENSIVE, f"the GIF has more than {MAX_CHUNKS} blocks")
        block = data[pos]
        if block == 0x3B:
            _trailing("GIF", data, pos + 1)
            return Structure(frames=frames)
        if block == 0x21:  # extension: label, then sub-blocks
            pos = skip_sub_blocks(pos + 2)
        elif block == 0x2C:  # image descriptor, optional local colour table, LZW code size, sub-blocks
            frames += 1
            if frames > max_frames:
                return Structure(frames=frames)
            if pos + 10 > n:
                raise ValidationError(Reason.TRUNCATED, "the GIF ends inside an image descriptor")
            local = data[pos + 9]
            pos += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            pos = skip_sub_blocks(pos + 1)
        else:
            raise ValidationError(Reason.CORRUPT, f"unexpected GIF block 0x{block:02x} at byte {pos}")


def walk(fmt: str, data: bytes, max_frames: int) -> Structure:
    """The structure of `data`, sniffed as `fmt` (an ImageFormat value)."""
    if fmt == "jpeg":
        return _jpeg(data)
    if fmt == "png":
        return _png(data, max_frames)
    if fmt == "webp":
        return _webp(data, max_frames)
    if fmt == "tiff":
        return _tiff(data, max_frames)
    if fmt == "avif":
        return _avif(data)
    if fmt == "gif":
        return _gif(data, max_frames)
    raise ValueError(f"no walker for {fmt}")
