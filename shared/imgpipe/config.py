"""Function settings from the environment Terraform sets: read once per cold start, refused loudly if wrong."""

from __future__ import annotations

import os
from collections.abc import Mapping


class ConfigError(RuntimeError):
    """A function was deployed without a setting it needs: fail the cold start, not a request later."""


def required(name: str, environ: Mapping[str, str] | None = None) -> str:
    value = (os.environ if environ is None else environ).get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is not set")
    return value


def optional(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return value or None


def integer(name: str, default: int, lo: int, hi: int, environ: Mapping[str, str] | None = None) -> int:
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ConfigError(f"{name}={raw!r} must be a whole number between {lo} and {hi}")
    return int(raw)
