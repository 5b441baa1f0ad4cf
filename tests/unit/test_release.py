"""Release tags: only a clean tree whose CHANGELOG has a dated section for pyproject's version gets v<version>."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts.cli import REPO_ROOT
from scripts.deploy import release

CHANGELOG = """# Changelog

## [Unreleased]

## [1.2.0] - 2026-11-30

### Added
- A thing.

## [1.1.0] - 2026-10-01

- An older thing.
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "imgpipe"\nversion = "1.2.0"\n')
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG)
    for command in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(tmp_path), *command], check=True)
    return tmp_path


def tags(repo: Path) -> list[str]:
    return subprocess.run(["git", "-C", str(repo), "tag"], capture_output=True, text=True).stdout.split()


def test_tags_the_version_with_its_changelog_section(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_COMMITTER_NAME", "t")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "t@e")
    assert release.tag_release(repo) == "v1.2.0"
    assert tags(repo) == ["v1.2.0"]
    message = subprocess.run(["git", "-C", str(repo), "tag", "-n99", "v1.2.0"], capture_output=True, text=True).stdout
    assert "imgpipe 1.2.0" in message and "## [1.2.0] - 2026-11-30" in message and "A thing." in message
    assert "An older thing." not in message
    with pytest.raises(release.ReleaseError, match=r"v1\.2\.0 already exists"):
        release.tag_release(repo)


def test_refuses_a_version_the_changelog_does_not_describe(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[project]\nname = "imgpipe"\nversion = "1.3.0"\n')
    with pytest.raises(release.ReleaseError, match=r"no `## \[1.3.0\] - YYYY-MM-DD` section"):
        release.plan_release(repo)
    assert tags(repo) == []


def test_refuses_an_undated_section_and_a_dirty_tree(repo: Path) -> None:
    (repo / "CHANGELOG.md").write_text(CHANGELOG.replace("## [1.2.0] - 2026-11-30", "## [1.2.0]"))
    with pytest.raises(release.ReleaseError, match="has no release date"):
        release.plan_release(repo)
    (repo / "CHANGELOG.md").write_text(CHANGELOG + "\nedited\n")
    with pytest.raises(release.ReleaseError, match="uncommitted changes"):
        release.plan_release(repo)


def test_the_project_changelog_describes_the_project_version() -> None:
    from scripts.deploy import package

    version = package.release_version()
    text = (REPO_ROOT / "CHANGELOG.md").read_text()
    assert release.changelog_section(text, version).startswith(f"## [{version}] - ")
