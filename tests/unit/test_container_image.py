"""containers/image_processor/Dockerfile: what the image is made of, read from the file (this machine has no
container engine): a pinned base, the function's Lambda package and nothing else, no build step in the image
that runs, not root; and the application files it ends with are exactly the package's."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.container import DOCKERFILE, package_entries, unpack


def stages() -> list[list[tuple[str, str]]]:
    """(instruction, arguments) per stage, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction == "FROM":
            found.append([])
        found[-1].append((instruction, arguments.strip()))
    return found


def test_the_base_is_pinned_by_digest_and_both_stages_use_it() -> None:
    preamble, unpack_stage, final = stages()
    [(_, base)] = [i for i in preamble if i[0] == "ARG"]
    assert re.fullmatch(r"BASE=public\.ecr\.aws/lambda/python:3\.12@sha256:[0-9a-f]{64}", base)
    # Unzipping runs on the builder's platform (no emulator for the other architecture); the image is the target's.
    assert unpack_stage[0] == ("FROM", "--platform=$BUILDPLATFORM ${BASE} AS unpack") and final[0] == (
        "FROM",
        "${BASE}",
    )


def test_the_image_that_runs_builds_nothing_and_is_not_root() -> None:
    final = stages()[-1]
    kinds = {instruction for instruction, _ in final}
    assert kinds <= {"FROM", "COPY", "WORKDIR", "ENV", "USER", "HEALTHCHECK", "ENTRYPOINT"}  # no RUN, no ADD
    assert [a for i, a in final if i == "COPY"] == ["--from=unpack /opt/worker /opt/worker"]
    [user] = [a for i, a in final if i == "USER"]
    uid, _, gid = user.partition(":")
    assert int(uid) > 0 and int(gid) > 0
    assert ("ENTRYPOINT", '["python3", "-m", "worker"]') in final and ("WORKDIR", "/opt/worker") in final
    assert any(i == "HEALTHCHECK" and "/tmp/healthy" in a for i, a in final)


def test_only_the_package_enters_the_build() -> None:
    unpack_stage = stages()[1]
    # The package of the architecture being built (TARGETARCH: arm64 or amd64), as ci/build-worker-image.sh places it.
    assert ("ARG", "TARGETARCH") in unpack_stage
    assert [a for i, a in unpack_stage if i == "COPY"] == [
        "dist/image/${TARGETARCH}/image_processor.zip /tmp/package.zip"
    ]
    ignored = [line for line in (REPO_ROOT / ".dockerignore").read_text().splitlines() if not line.startswith("#")]
    assert ignored == ["*", "!dist/image/*/image_processor.zip"]


def test_the_images_application_files_are_exactly_the_lambda_packages(tmp_path: Path) -> None:
    unpacked = unpack(tmp_path)
    in_image = {p.relative_to(unpacked).as_posix(): p.read_bytes() for p in unpacked.rglob("*") if p.is_file()}
    in_package = {name: path.read_bytes() for name, path in package_entries()}
    assert in_image == in_package
    assert {"handler.py", "worker.py", "imgpipe/processing.py"} <= set(in_image)
