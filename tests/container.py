"""The image_processor container's application files, made here as its Dockerfile makes them: the function's
Lambda package (its own files and the library, as scripts/deploy/package.py selects them) extracted with the
Dockerfile's own RUN command. Wheels are left out: the package's are built for Lambda's architecture, and
here the interpreter's own installed copies stand in for them (the same pins, requirements/dev.lock)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from scripts.cli import REPO_ROOT
from scripts.deploy import package

DOCKERFILE = REPO_ROOT / "containers" / "image_processor" / "Dockerfile"
FUNCTION_DIR = REPO_ROOT / "lambdas" / "image_processor"
LIBRARY_DIR = REPO_ROOT / "shared" / "imgpipe"


def package_entries() -> list[tuple[str, Path]]:
    return package.zip_entries(FUNCTION_DIR, LIBRARY_DIR, None)


def extract_command() -> list[str]:
    """The unpack stage's RUN line, as argv (it runs the interpreter's zipfile module)."""
    found = re.search(r"^RUN (python3 -m zipfile -e \S+ \S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert found, "the Dockerfile's unpack stage extracts the package with the standard library's zipfile"
    return shlex.split(found.group(1))


def unpack(work: Path) -> Path:
    """The image's /opt/worker, under `work`."""
    archive = work / "tmp" / "package.zip"
    archive.parent.mkdir(parents=True, exist_ok=True)
    package.write_zip(package_entries(), archive)
    argv = extract_command()
    source, target = (work / a.lstrip("/") for a in argv[-2:])
    subprocess.run([sys.executable, *argv[1:-2], str(source), str(target)], check=True)
    return target
