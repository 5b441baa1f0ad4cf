"""One measurement of one image engine, in its own process pinned to one core (run by scripts.dev.bench).

    python -m scripts.dev.bench_engine imgpipe|pyvips <image file> <rounds> <cpu>

Prints one JSON line: per-round milliseconds (after one warm-up round, or none when rounds is 0) and the
process's peak RSS (VmHWM). With rounds 0 it runs the engine exactly once, cold, for the RSS figure.
The pyvips reference does what the engine does, the way libvips does it fastest: shrink-on-load thumbnail to
the largest edge (upright, sRGB), held in memory once, then the smaller renditions cascaded from it; JPEG and
WebP at the same qualities, metadata stripped.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path


def imgpipe_engine() -> Callable[[bytes], int]:
    from imgpipe import engine
    from imgpipe.renditions import DEFAULT_RENDITIONS
    from imgpipe.validation import Limits

    def run(data: bytes) -> int:
        result = engine.process(data, DEFAULT_RENDITIONS, Limits())
        return sum(r.size_bytes for r in result.renditions)

    return run


def pyvips_reference() -> Callable[[bytes], int]:
    import pyvips

    def save(image: pyvips.Image, fmt: str, quality: int) -> bytes:
        data: bytes = image.write_to_buffer(f".{fmt}", Q=quality, keep="none")
        return data

    def run(data: bytes) -> int:
        large = pyvips.Image.thumbnail_buffer(data, 1280, size="down", export_profile="srgb").copy_memory()
        medium = large.resize(640 / max(large.width, large.height)) if max(large.width, large.height) > 640 else large
        thumb = medium.resize(160 / max(medium.width, medium.height))
        outputs = [
            save(large, "jpg", 82),
            save(medium, "jpg", 82),
            save(thumb, "jpg", 80),
            save(large, "webp", 80),
        ]
        return sum(len(o) for o in outputs)

    return run


def peak_rss_kib() -> int:
    """This process's own peak resident set. ru_maxrss is not it here: Linux carries the high-water mark of the
    parent's address space (copied by fork) across exec, so every child would report the parent's peak.
    VmHWM belongs to the address space exec created."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux; a bound on other systems


def main(argv: list[str]) -> int:
    impl, path, rounds, cpu = argv[0], Path(argv[1]), int(argv[2]), int(argv[3])
    os.sched_setaffinity(0, {cpu})
    run = {"imgpipe": imgpipe_engine, "pyvips": pyvips_reference}[impl]()
    data = path.read_bytes()
    samples = []
    if rounds == 0:
        run(data)
    else:
        run(data)  # warm: lazy imports, codec tables
        for _ in range(rounds):
            started = time.perf_counter()
            run(data)
            samples.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"ms": samples, "peak_rss_mb": round(peak_rss_kib() / 1024, 1)}))
    return 0


if __name__ == "__main__":
    # libvips reads its thread count at start-up: one worker thread, like the single-threaded engine.
    os.environ.setdefault("VIPS_CONCURRENCY", "1")
    sys.exit(main(sys.argv[1:]))
