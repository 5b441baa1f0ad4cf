"""scripts.dev.docs: the generated sections of the docs follow the code, and a stale one fails `make lint`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts.dev import docs
from tests.conftest import REPO_ROOT


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The parts of the repository the generated sections are made from, copied so a test may change them."""
    shutil.copytree(REPO_ROOT / "terraform", tmp_path / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    return tmp_path


def test_the_committed_docs_are_what_the_code_generates() -> None:
    assert docs.stale(REPO_ROOT) == []


def test_a_new_module_or_checkov_skip_makes_the_docs_stale_until_they_are_written(repo: Path) -> None:
    module = repo / "terraform" / "modules" / "thumbnails"
    module.mkdir()
    (module / "README.md").write_text("# thumbnails\n\nSmall previews on demand: a CloudFront function.\n")
    (module / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  #checkov:skip=CKV_AWS_999:a reason\n}\n')
    assert docs.stale(repo) == [
        "terraform/README.md: section 'modules'",
        "terraform/README.md: section 'checkov-skips'",
    ]
    for document, text in docs.render(repo).items():
        (repo / document).write_text(text)
    assert docs.stale(repo) == []
    readme = (repo / "terraform" / "README.md").read_text()
    assert "| [`thumbnails`](modules/thumbnails/README.md) | Small previews on demand |" in readme
    assert "| `CKV_AWS_999` | 1 | `modules/thumbnails` |" in readme


def test_skips_are_counted_by_check_and_place() -> None:
    table = docs.checkov_skips_table(REPO_ROOT)
    total = sum(
        text.count("checkov:skip=")
        for path in (REPO_ROOT / "terraform").rglob("*.tf")
        if ".terraform" not in path.parts
        for text in [path.read_text()]
    )
    assert table.startswith(f"{total} inline skips of ")


def test_a_document_without_the_markers_is_an_error_not_a_silent_pass() -> None:
    with pytest.raises(docs.DocsError, match="modules"):
        docs.replace_section("# a readme without markers\n", "modules", "body\n")


@pytest.mark.parametrize(
    ("readme", "sentence"),
    [
        ("# x\n\nOne key per environment (`alias/x`). Every store uses it.\n", "One key per environment (`alias/x`)"),
        ("# Module `y`\n\nThe view, called by `pipeline`:\n\n- a\n", "The view, called by `pipeline`"),
        ("# z\n\nA | B table\nacross lines.\n", "A \\| B table across lines"),
    ],
)
def test_a_modules_summary_is_the_first_sentence_of_its_readme(readme: str, sentence: str) -> None:
    assert docs.first_sentence(readme) == sentence
