"""What every command-line tool of scripts/ shares: the checkout's root and one convention for failures.

A tool's `main(argv) -> int` raises; `@command(ErrorTypes...)` turns the errors a user can act on into one line
on stderr (`error: ...`) and exit code 2, the same for every tool. Anything else is a bug and keeps its
traceback. This module is the bottom layer: it imports nothing from scripts/.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

REPO_ROOT = Path(__file__).resolve().parent.parent
EXIT_ERROR = 2


class Main(Protocol):
    def __call__(self, argv: list[str] | None = None) -> int: ...


class CliError(Exception):
    """A failure the user can act on (bad argument, missing deployment, ...): printed, never a traceback."""


def fail(message: str) -> int:
    """Print `error: message` and give the error exit code (for failures found without an exception)."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def command(*errors: type[BaseException]) -> Callable[[Callable[[list[str] | None], int]], Main]:
    """Decorate a tool's main: CliError and the listed error types end it with `error: ...` and exit code 2."""
    expected: tuple[type[BaseException], ...] = (CliError, *errors)

    def decorate(main: Callable[[list[str] | None], int]) -> Main:
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> int:
            try:
                return main(argv)
            except expected as err:
                return fail(str(err))

        return run

    return decorate
