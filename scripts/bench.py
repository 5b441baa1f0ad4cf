"""`make bench`: benchmarks, each run side by side with a reference implementation in the same process.

The image-processing benchmark (Pillow engine vs pyvips) arrives with the processing engine; until then there
is nothing of ours on a hot path to measure, and this says so rather than print numbers about nothing.
"""

from __future__ import annotations

import sys

BENCHMARKS: dict[str, object] = {}


def main() -> int:
    if not BENCHMARKS:
        print("bench: no benchmarks yet — the image engine and its pyvips comparison come with the processing issue")
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
