"""The image stage's build script (ci/build-worker-image.sh), run with stand-ins for `aws` and `docker` on the
PATH that record what they were asked: it builds an image per architecture from that architecture's package and
pushes them with their index, only what the repository does not have; it prints the index by digest, and refuses a
package of the wrong architecture, a missing one, or a push that left no digest."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "ci" / "build-worker-image.sh"
REPOSITORY_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/imgpipe-prod-cicd-worker"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "ab" * 32

# `aws ecr describe-images` answers a digest for a tag once it is "pushed" (a marker file named after the tag), or
# fails as ECR does for an unknown tag; `docker push` and `docker manifest push` create the marker unless told to
# fail.
FAKE_AWS = f"""#!/usr/bin/env bash
echo "aws $*" >> "$CALLS"
for arg in "$@"; do case "$arg" in imageTag=*) tag="${{arg#imageTag=}}";; esac; done
if [[ -f "$PUSHED/$tag" ]]; then echo "{DIGEST}"; else echo "ImageNotFoundException" >&2; exit 254; fi
"""
FAKE_DOCKER = """#!/usr/bin/env bash
echo "docker $*" >> "$CALLS"
ref="${@: -1}"
if [[ "$1" == push || "$1 $2" == "manifest push" ]]; then
  [[ -n "${PUSH_FAILS:-}" ]] && { echo "denied" >&2; exit 1; }
  [[ "$1" == manifest && -n "${PUSH_LOSES_IT:-}" ]] || touch "$PUSHED/${ref##*:}"
fi
exit 0
"""
PACKAGES = {"arm64": b"PK arm64 wheels", "x86_64": b"PK x86_64 wheels"}


def write_package(workdir: Path, arch: str, built_for: str | None = None) -> None:
    out = workdir / "dist" / f"lambda-{arch}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "image_processor-0.1.0-abc.zip").write_bytes(PACKAGES[arch])
    manifest = {"image_processor": {"zip": "image_processor-0.1.0-abc.zip", "arch": built_for or arch}}
    (out / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    (tmp_path / "pushed").mkdir()
    for name, text in (("aws", FAKE_AWS), ("docker", FAKE_DOCKER)):
        tool = tmp_path / "bin" / name
        tool.write_text(text)
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    for arch in PACKAGES:
        write_package(tmp_path, arch)
    return tmp_path


def run(workdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": f"{workdir / 'bin'}:{os.environ['PATH']}",
            "CALLS": str(workdir / "calls"),
            "PUSHED": str(workdir / "pushed"),
            "REPOSITORY_URI": REPOSITORY_URI,
            "CODEBUILD_RESOLVED_SOURCE_VERSION": COMMIT,
            **env,
        },
    )


def calls(workdir: Path) -> list[str]:
    path = workdir / "calls"
    return path.read_text().splitlines() if path.exists() else []


def build(platform: str) -> list[str]:
    return [
        f"docker build --platform linux/{platform} -f containers/image_processor/Dockerfile "
        f"-t {REPOSITORY_URI}:{COMMIT}-{platform} .",
        f"docker push {REPOSITORY_URI}:{COMMIT}-{platform}",
    ]


INDEX = [
    f"docker manifest create {REPOSITORY_URI}:{COMMIT} {REPOSITORY_URI}:{COMMIT}-arm64 {REPOSITORY_URI}:{COMMIT}-amd64",
    f"docker manifest push {REPOSITORY_URI}:{COMMIT}",
]


def test_a_new_commit_is_built_for_both_architectures_pushed_as_one_index_and_printed_by_digest(
    workdir: Path,
) -> None:
    done = run(workdir)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{REPOSITORY_URI}@{DIGEST}\n"  # stdout is the reference alone: the buildspec exports it
    assert [c for c in calls(workdir) if c.startswith("docker")] == [*build("arm64"), *build("amd64"), *INDEX]
    # Each platform's build context holds that architecture's package where the Dockerfile's TARGETARCH finds it.
    assert (workdir / "dist/image/arm64/image_processor.zip").read_bytes() == PACKAGES["arm64"]
    assert (workdir / "dist/image/amd64/image_processor.zip").read_bytes() == PACKAGES["x86_64"]
    asked = [c for c in calls(workdir) if c.startswith("aws")]
    assert [c.split("--image-ids ")[1].split()[0] for c in asked] == [
        f"imageTag={tag}" for tag in (COMMIT, f"{COMMIT}-arm64", f"{COMMIT}-amd64", COMMIT)
    ]


def test_a_commit_whose_image_is_there_already_pushes_nothing(workdir: Path) -> None:
    (workdir / "pushed" / COMMIT).touch()
    done = run(workdir)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{REPOSITORY_URI}@{DIGEST}\n"
    assert [c for c in calls(workdir) if c.startswith("docker")] == []  # tags are immutable: reuse it


def test_a_run_that_stopped_half_way_is_finished_without_pushing_a_tag_twice(workdir: Path) -> None:
    (workdir / "pushed" / f"{COMMIT}-arm64").touch()
    done = run(workdir)
    assert done.returncode == 0, done.stderr
    assert [c for c in calls(workdir) if c.startswith("docker")] == [*build("amd64"), *INDEX]
    assert done.stdout == f"{REPOSITORY_URI}@{DIGEST}\n"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PUSH_FAILS": "1"}, "denied"),
        ({"PUSH_LOSES_IT": "1"}, "has no digest"),
        ({"REPOSITORY_URI": ""}, "REPOSITORY_URI is not set"),
    ],
)
def test_a_failed_push_or_a_missing_setting_fails_the_stage_and_prints_no_image(
    workdir: Path, env: dict[str, str], message: str
) -> None:
    done = run(workdir, **env)
    assert done.returncode != 0 and done.stdout == ""
    assert message in done.stderr


@pytest.mark.parametrize("arch", list(PACKAGES))
def test_a_package_of_another_architecture_or_none_is_refused_before_docker(workdir: Path, arch: str) -> None:
    other = next(a for a in PACKAGES if a != arch)
    write_package(workdir, arch, built_for=other)
    done = run(workdir)
    assert done.returncode == 2 and f"is built for {other}, not {arch}" in done.stderr, done.stderr
    (workdir / "dist" / f"lambda-{arch}" / "manifest.json").unlink()
    done = run(workdir)
    assert done.returncode == 2 and f"make package ARCH={arch} OUT=dist/lambda-{arch}" in done.stderr
    assert [c for c in calls(workdir) if c.startswith("docker")] == []
