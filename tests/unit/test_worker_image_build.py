"""The image stage's build script (ci/build-worker-image.sh), run with stand-ins for `aws` and `docker` on the
PATH that record what they were asked: it builds and pushes only an image the repository does not have, prints
the image by digest, and refuses a package of the wrong architecture or a push that left no digest."""

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

# `aws ecr describe-images` answers the digest once the image is "pushed" (a marker file), or fails as ECR does
# for an unknown tag; `docker push` creates the marker unless told to fail.
FAKE_AWS = f"""#!/usr/bin/env bash
echo "aws $*" >> "$CALLS"
if [[ -f "$PUSHED" ]]; then echo "{DIGEST}"; else echo "ImageNotFoundException" >&2; exit 254; fi
"""
FAKE_DOCKER = """#!/usr/bin/env bash
echo "docker $*" >> "$CALLS"
if [[ "$1" == push ]]; then
  [[ -n "${PUSH_FAILS:-}" ]] && { echo "denied" >&2; exit 1; }
  [[ -n "${PUSH_LOSES_IT:-}" ]] || touch "$PUSHED"
fi
exit 0
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    for name, text in (("aws", FAKE_AWS), ("docker", FAKE_DOCKER)):
        tool = tmp_path / "bin" / name
        tool.write_text(text)
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "dist" / "lambda").mkdir(parents=True)
    manifest = {"image_processor": {"zip": "image_processor-0.1.0-abc.zip", "arch": "arm64"}}
    (tmp_path / "dist" / "lambda" / "manifest.json").write_text(json.dumps(manifest))
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


def test_a_new_commit_is_built_for_arm64_from_its_package_pushed_and_printed_by_digest(workdir: Path) -> None:
    done = run(workdir)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{REPOSITORY_URI}@{DIGEST}\n"  # stdout is the reference alone: the buildspec exports it
    docker = [c for c in calls(workdir) if c.startswith("docker")]
    assert docker == [
        "docker build --platform linux/arm64 --build-arg PACKAGE=dist/lambda/image_processor-0.1.0-abc.zip "
        f"-f containers/image_processor/Dockerfile -t {REPOSITORY_URI}:{COMMIT} .",
        f"docker push {REPOSITORY_URI}:{COMMIT}",
    ]
    assert all(f"--image-ids imageTag={COMMIT}" in c for c in calls(workdir) if c.startswith("aws"))


def test_a_commit_whose_image_is_there_already_pushes_nothing(workdir: Path) -> None:
    (workdir / "pushed").touch()
    done = run(workdir)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{REPOSITORY_URI}@{DIGEST}\n"
    assert [c for c in calls(workdir) if c.startswith("docker")] == []  # tags are immutable: reuse it


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


def test_a_package_of_another_architecture_or_none_is_refused_before_docker(workdir: Path) -> None:
    manifest = workdir / "dist" / "lambda" / "manifest.json"
    manifest.write_text(json.dumps({"image_processor": {"zip": "x.zip", "arch": "x86_64"}}))
    done = run(workdir)
    assert done.returncode == 2 and "built for x86_64" in done.stderr
    manifest.unlink()
    done = run(workdir)
    assert done.returncode == 2 and "make package ARCH=arm64" in done.stderr
    assert [c for c in calls(workdir) if c.startswith("docker")] == []
