"""Sections of the docs that are generated from the code, so that no list or count in them can drift.

    python -m scripts.dev.docs --write      rewrite every generated section from the code as it is
    python -m scripts.dev.docs --check      exit 1 naming each section that differs (run by `make lint`)

A generated section lies between `<!-- generated:NAME ... -->` and `<!-- generated:NAME:end -->`; the text
around it is written by hand. Sections today: in terraform/README.md, `modules` (every module under
terraform/modules with the first sentence of its own README) and `checkov-skips` (every inline
`#checkov:skip=` by check and module, with its count); in every module's README, `inputs` and `outputs` (the
tables of variables.tf and outputs.tf, parsed with python-hcl2, as terraform-docs would write them).
A module whose README lacks the markers fails the check: a new module cannot ship without its tables.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def _blocks(path: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """The `variable` or `output` blocks of a .tf file, by name, in file order."""
    import hcl2  # only the docs need an HCL parser; the rest of the tooling drives the terraform CLI

    if not path.is_file():
        return []
    options = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)
    try:
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=options)
    except Exception as err:  # lark's parse errors share no public base class
        raise DocsError(f"cannot parse {path}: {err}") from err
    return [next(iter(block.items())) for block in parsed.get(kind, [])]


def _expression(value: Any) -> str:
    """An HCL value as Terraform would print it: expressions unwrapped, literals as JSON."""
    if isinstance(value, str):
        return value[2:-1] if value.startswith("${") and value.endswith("}") else json.dumps(value)
    return json.dumps(value, separators=(", ", ": "))


def _cell(text: str) -> str:
    """One table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _prose(text: str) -> str:
    """A description as Markdown shows it: `<name_prefix>` stays text instead of vanishing as an HTML tag."""
    return _cell(text).replace("<", "&lt;").replace(">", "&gt;")


def _type(value: Any) -> str:
    """A variable's type constraint as written (`string`, `list(object({...}))`)."""
    return value[2:-1] if isinstance(value, str) and value.startswith("${") else str(value)


def inputs_table(module: Path) -> str:
    lines = ["| Name | Description | Type | Default | Required |", "| --- | --- | --- | --- | :---: |"]
    for name, body in _blocks(module / "variables.tf", "variable"):
        kind = _type(body["type"]) if "type" in body else "any"
        default = f"`{_cell(_expression(body['default']))}`" if "default" in body else "n/a"
        required = "no" if "default" in body else "yes"
        description = _prose(str(body.get("description", "")))
        lines.append(f"| `{name}` | {description} | `{_cell(kind)}` | {default} | {required} |")
    return "\n".join(lines) + "\n"


def outputs_table(module: Path) -> str:
    lines = ["| Name | Description |", "| --- | --- |"]
    for name, body in _blocks(module / "outputs.tf", "output"):
        sensitive = " (sensitive)" if body.get("sensitive") is True else ""
        lines.append(f"| `{name}` | {_prose(str(body.get('description', '')))}{sensitive} |")
    return "\n".join(lines) + "\n"


def sections(root: Path) -> Iterator[tuple[Path, str, Callable[[], str]]]:
    """(document, section, generator of its body) for every generated section of the repository at root."""
    yield TERRAFORM_README, "modules", lambda: modules_table(root)
    yield TERRAFORM_README, "checkov-skips", lambda: checkov_skips_table(root)
    for module in sorted(p for p in (root / "terraform" / "modules").iterdir() if p.is_dir()):
        readme = module.relative_to(root) / "README.md"
        yield readme, "inputs", lambda module=module: inputs_table(module)  # type: ignore[misc]
        yield readme, "outputs", lambda module=module: outputs_table(module)  # type: ignore[misc]


def render(root: Path) -> dict[Path, str]:
    """Every document with generated sections, as it should read now."""
    documents: dict[Path, str] = {}
    for document, name, generate in sections(root):
        if document not in documents:
            if not (root / document).is_file():
                raise DocsError(f"{document} is missing: every module documents itself")
            documents[document] = (root / document).read_text()
        try:
            documents[document] = replace_section(documents[document], name, generate())
        except DocsError as err:
            raise DocsError(f"{document}: {err}") from None
    return documents


def stale(root: Path) -> list[str]:
    """The sections whose text differs from what the code generates now."""
    rendered = render(root)
    return [
        f"{document}: section {name!r}"
        for document, name, _ in sections(root)
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
