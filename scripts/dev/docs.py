"""Sections of the docs that are generated from the code, so that no list or count in them can drift.

    python -m scripts.dev.docs --write      rewrite every generated section from the code as it is
    python -m scripts.dev.docs --check      exit 1 naming each section that differs (run by `make lint`)

A generated section lies between `<!-- generated:NAME ... -->` and `<!-- generated:NAME:end -->`; the text
around it is written by hand. Sections today (terraform/README.md): `modules` (every module under
terraform/modules with the first sentence of its own README) and `checkov-skips` (every inline
`#checkov:skip=` by check and module, with its count).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from scripts.cli import REPO_ROOT, command

TERRAFORM_README = Path("terraform/README.md")
_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)")


class DocsError(Exception):
    """A document lacks the markers of a section it should carry."""


def _start(name: str) -> str:
    return f"<!-- generated:{name} (python -m scripts.dev.docs --write) -->"


def _end(name: str) -> str:
    return f"<!-- generated:{name}:end -->"


def replace_section(text: str, name: str, body: str) -> str:
    start, end = _start(name), _end(name)
    if start not in text or end not in text:
        raise DocsError(f"the markers of section {name!r} are missing: {start} ... {end}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}{end}{tail}"


def first_sentence(readme: str) -> str:
    """The first sentence of a README's first paragraph after its title (what the module is)."""
    paragraph: list[str] = []
    for line in readme.splitlines():
        if line.startswith("#") and not paragraph:
            continue
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    text = " ".join(paragraph)
    match = re.search(r"(?<=[.:])\s", text)
    sentence = text[: match.start()] if match else text
    return sentence.rstrip(":.").replace("|", "\\|")


def modules_table(root: Path) -> str:
    lines = ["| module | what it is (from its README) |", "| --- | --- |"]
    for module in sorted(p for p in (root / "terraform" / "modules").iterdir() if p.is_dir()):
        readme = module / "README.md"
        summary = first_sentence(readme.read_text()) if readme.is_file() else "**no README**"
        lines.append(f"| [`{module.name}`](modules/{module.name}/README.md) | {summary} |")
    return "\n".join(lines) + "\n"


def checkov_skips_table(root: Path) -> str:
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in sorted((root / "terraform").rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        where = str(path.parent.relative_to(root / "terraform"))
        for check in _SKIP.findall(path.read_text()):
            found[check][where] += 1
    total = sum(sum(places.values()) for places in found.values())
    lines = [
        f"{total} inline skips of {len(found)} checks, each with its reason on the resource it applies to:",
        "",
        "| check | skips | where |",
        "| --- | --- | --- |",
    ]
    for check, places in sorted(found.items()):
        where = ", ".join(f"`{place}`" + (f" (x{n})" if n > 1 else "") for place, n in sorted(places.items()))
        lines.append(f"| `{check}` | {sum(places.values())} | {where} |")
    return "\n".join(lines) + "\n"


# (document, section) -> generator of the section's body from the repository at a root.
SECTIONS: dict[tuple[Path, str], Callable[[Path], str]] = {
    (TERRAFORM_README, "modules"): modules_table,
    (TERRAFORM_README, "checkov-skips"): checkov_skips_table,
}


def render(root: Path) -> dict[Path, str]:
    """Every document with generated sections, as it should read now."""
    documents: dict[Path, str] = {}
    for (document, name), generate in SECTIONS.items():
        text = documents.get(document) or (root / document).read_text()
        documents[document] = replace_section(text, name, generate(root))
    return documents


def stale(root: Path) -> list[str]:
    """The sections whose text differs from what the code generates now."""
    rendered = render(root)
    return [
        f"{document}: section {name!r}"
        for (document, name) in SECTIONS
        if _section((root / document).read_text(), name) != _section(rendered[document], name)
    ]


def _section(text: str, name: str) -> str:
    return text.split(_start(name), 1)[1].split(_end(name), 1)[0]


@command(DocsError, OSError)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.dev.docs", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the generated sections")
    mode.add_argument("--check", action="store_true", help="exit 1 when a generated section is out of date")
    args = parser.parse_args(argv)
    if args.write:
        for document, text in render(REPO_ROOT).items():
            (REPO_ROOT / document).write_text(text)
            print(f"docs: wrote the generated sections of {document}")
        return 0
    out_of_date = stale(REPO_ROOT)
    for entry in out_of_date:
        print(f"docs: {entry} is out of date: run python -m scripts.dev.docs --write", file=sys.stderr)
    return 1 if out_of_date else 0


if __name__ == "__main__":
    sys.exit(main())
