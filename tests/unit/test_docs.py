"""scripts.dev.docs: the generated sections of the docs follow the code, and a stale one fails `make lint`."""

from __future__ import annotations

import re
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
    (module / "README.md").write_text(
        "# thumbnails\n\nSmall previews on demand: a CloudFront function.\n\n"
        + "".join(f"{docs._start(name)}\n{docs._end(name)}\n" for name in ("inputs", "outputs"))
    )
    (module / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  #checkov:skip=CKV_AWS_999:a reason\n}\n')
    assert docs.stale(repo) == [
        "terraform/README.md: section 'modules'",
        "terraform/README.md: section 'checkov-skips'",
        "terraform/modules/thumbnails/README.md: section 'inputs'",
        "terraform/modules/thumbnails/README.md: section 'outputs'",
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


def test_a_new_variable_or_output_makes_its_module_readme_stale_until_written(repo: Path) -> None:
    module = repo / "terraform" / "modules" / "metadata"
    (module / "variables.tf").write_text(
        (module / "variables.tf").read_text()
        + '\nvariable "read_capacity" {\n  description = "Reads per <second>; | is a pipe."\n'
        + "  type        = map(list(number))\n  default     = { a = [1, 2] }\n}\n"
    )
    (module / "outputs.tf").write_text(
        (module / "outputs.tf").read_text() + '\noutput "stream" {\n  description = "The stream."\n'
        '  value       = "x"\n  sensitive   = true\n}\n'
    )
    assert docs.stale(repo) == [
        "terraform/modules/metadata/README.md: section 'inputs'",
        "terraform/modules/metadata/README.md: section 'outputs'",
    ]
    for document, text in docs.render(repo).items():
        (repo / document).write_text(text)
    assert docs.stale(repo) == []
    readme = (module / "README.md").read_text()
    assert (
        '| `read_capacity` | Reads per &lt;second&gt;; \\| is a pipe. | `map(list(number))` | `{"a": [1, 2]}` | no |'
        in readme
    )
    assert "| `stream` | The stream. (sensitive) |" in readme


def test_every_variable_and_output_of_every_module_is_in_its_readme() -> None:
    for module in (REPO_ROOT / "terraform" / "modules").iterdir():
        readme = (module / "README.md").read_text()
        for kind, source in (("variable", "variables.tf"), ("output", "outputs.tf")):
            declared = re.findall(rf'^{kind} "([a-z0-9_]+)"', (module / source).read_text(), re.MULTILINE)
            assert declared, f"{module.name}/{source} declares no {kind}"
            missing = [name for name in declared if f"| `{name}` |" not in readme]
            assert not missing, f"{module.name}/README.md lacks {missing}"


def test_a_module_readme_without_the_table_markers_fails_the_check(repo: Path) -> None:
    readme = repo / "terraform" / "modules" / "kms" / "README.md"
    readme.write_text("# kms\n\nThe environment's key.\n")
    with pytest.raises(docs.DocsError, match=r"modules/kms/README.md.*'inputs'"):
        docs.stale(repo)
