"""Release a version: a semantic version tag on a clean tree whose CHANGELOG describes that version.

    python -m scripts.deploy.release check      what `make release` would tag, and whether it can
    python -m scripts.deploy.release tag        (make release) git tag -a v<version>, the CHANGELOG section as message

The version is [project] version in pyproject.toml (the packages carry it: <function>-<version>-<hash>.zip).
To release: move the CHANGELOG's Unreleased entries under `## [X.Y.Z] - YYYY-MM-DD`, set the same version in
pyproject.toml, commit, `make release`, then push the tag (`git push origin vX.Y.Z`).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from scripts.cli import REPO_ROOT, command
from scripts.deploy import package

SECTION = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?", re.MULTILINE)


class ReleaseError(Exception):
    """Why this tree cannot be tagged: the CLI prints it and exits 2."""


def changelog_section(changelog: str, version: str) -> str:
    """The text of `## [version] - date` up to the next section."""
    sections = list(SECTION.finditer(changelog))
    for index, match in enumerate(sections):
        if match.group("version") == version:
            if not match.group("date"):
                raise ReleaseError(
                    f"CHANGELOG.md: the {version} section has no release date (`## [{version}] - YYYY-MM-DD`)"
                )
            end = sections[index + 1].start() if index + 1 < len(sections) else len(changelog)
            return changelog[match.start() : end].strip()
    raise ReleaseError(
        f"CHANGELOG.md has no `## [{version}] - YYYY-MM-DD` section: move the Unreleased entries under it first"
    )


def git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def plan_release(root: Path = REPO_ROOT) -> tuple[str, str]:
    """(tag, message) for the version in pyproject.toml, or why it cannot be tagged."""
    version = package.release_version(root / "pyproject.toml")
    message = changelog_section((root / "CHANGELOG.md").read_text(), version)
    tag = f"v{version}"
    if git(root, "tag", "--list", tag).strip():
        raise ReleaseError(f"{tag} already exists: bump [project] version in pyproject.toml for a new release")
    dirty = git(root, "status", "--porcelain", "--untracked-files=no").strip()
    if dirty:
        raise ReleaseError(f"uncommitted changes: commit them first (a tag names a commit)\n{dirty}")
    return tag, message


def tag_release(root: Path = REPO_ROOT) -> str:
    tag, message = plan_release(root)
    # whitespace cleanup: the default would strip the CHANGELOG's "## [x.y.z]" heading as a comment line
    git(root, "tag", "-a", "--cleanup=whitespace", tag, "-m", f"imgpipe {tag[1:]}\n\n{message}")
    return tag


@command(ReleaseError, package.PackageError)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.deploy.release", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["check", "tag"])
    args = parser.parse_args(argv)
    if args.command == "check":
        tag, message = plan_release()
        print(f"release: {tag} can be tagged:\n{message}")
    else:
        tag = tag_release()
        print(f"release: tagged {tag} at {git(REPO_ROOT, 'rev-parse', '--short', tag + '^{commit}').strip()}")
        print(f"release: publish it with: git push origin {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
