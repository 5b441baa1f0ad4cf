"""Headless Chromium as these machines run it: Debian's package (or any Chrome/Chromium, IMGPIPE_CHROMIUM), with
the flags a closed network needs (no background fetches, no component updates) and no sandbox (root in CI)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    candidates = [
        os.environ.get("IMGPIPE_CHROMIUM", ""),
        *(shutil.which(n) or "" for n in ("chromium", "chromium-browser", "google-chrome")),
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    ]
    found = next((c for c in candidates if c and Path(c).exists()), None)
    assert found, "no Chromium/Chrome: `make test` installs Debian's chromium where it can; or set IMGPIPE_CHROMIUM"
    return found
