"""`make plan` / `make apply` / `make deploy` on a real Terraform: the saved plan is summarised, applied as
reviewed and only once, a stale one is refused, and a second deploy is a no-op. Uses Terraform's built-in
terraform_data, so no provider and no emulator is needed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.deploy import tf

pytestmark = pytest.mark.terraform

ROOT_MODULE = """
variable "label" {
  type = string
}

variable "generation" {
  type = number
}

resource "terraform_data" "settings" {
  input = var.label
}

resource "terraform_data" "store" {
  triggers_replace = [var.generation]
}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    env = tmp_path / "terraform" / "envs" / "local"
    env.mkdir(parents=True)
    (env / "main.tf").write_text(ROOT_MODULE)
    return tmp_path


def environ(label: str, generation: int) -> dict[str, str]:
    return {**os.environ, "TF_IN_AUTOMATION": "1", "TF_VAR_label": label, "TF_VAR_generation": str(generation)}


def test_plan_apply_saved_then_no_op(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    planfile = root / "terraform" / "envs" / "local" / "local.tfplan"
    assert tf.plan("local", environ("a", 1), planfile, root=root) is True
    out = capsys.readouterr().out
    assert "ENV=local: Plan: 2 to add, 0 to change, 0 to destroy." in out
    full_text, markdown = tf.summary_paths(planfile)
    assert "terraform_data.settings will be created" in full_text.read_text()
    assert "| create | `terraform_data.store` |" in markdown.read_text()
    # What the pipeline's approval shows (CodeBuild exported variables).
    assert tf.saved_plan_field("local", environ("a", 1), planfile, "headline", root=root) == (
        "Plan: 2 to add, 0 to change, 0 to destroy."
    )
    assert tf.saved_plan_field("local", environ("a", 1), planfile, "at-risk", root=root) == "none"

    tf.apply_saved("local", environ("a", 1), planfile, auto_approve=False, root=root)
    assert not planfile.exists() and not full_text.exists() and not markdown.exists()  # applied once, gone
    assert tf.plan("local", environ("a", 1), planfile, root=root) is False  # the second deploy: nothing to do

    # An in-place change and a forced replacement, named as such.
    assert tf.plan("local", environ("b", 2), planfile, root=root) is True
    out = capsys.readouterr().out
    assert "Plan: 1 to add, 1 to change, 1 to destroy (1 replaced)." in out
    assert "~ terraform_data.settings  [input, output]" in out
    assert "-/+ terraform_data.store  [" in out and "forced by: triggers_replace" in out


def test_a_stale_plan_is_refused(root: Path) -> None:
    first, second = (root / "terraform" / "envs" / "local" / name for name in ("first.tfplan", "second.tfplan"))
    assert tf.plan("local", environ("a", 1), first, root=root)
    assert tf.plan("local", environ("a", 1), second, root=root)
    tf.apply_saved("local", environ("a", 1), second, auto_approve=False, root=root)
    # `first` was reviewed against a state that no longer exists: Terraform must not apply it.
    with pytest.raises(tf.TfError, match="terraform apply failed"):
        tf.apply_saved("local", environ("a", 1), first, auto_approve=False, root=root)


def test_apply_without_a_saved_plan_says_what_to_do(root: Path) -> None:
    with pytest.raises(tf.TfError, match=r"no saved plan .* run `make plan ENV=local` first"):
        tf.apply_saved("local", environ("a", 1), root / "missing.tfplan", auto_approve=False, root=root)


def test_prod_apply_needs_a_yes_or_auto_approve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(tf.TfError, match="refusing to apply to prod without confirmation"):
        tf.confirm("prod", auto_approve=False)
    tf.confirm("prod", auto_approve=True)
    tf.confirm("staging", auto_approve=False)
    with pytest.raises(tf.TfError, match="refusing to apply to cicd"):  # it holds prod's deployer
        tf.confirm("cicd", auto_approve=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(tf.TfError, match="prod apply cancelled"):
        tf.confirm("prod", auto_approve=False)


def test_backend_from_the_build_environment(tmp_path: Path) -> None:
    settings = tf.backend_settings(
        "staging",
        {"TF_STATE_BUCKET": "b", "TF_STATE_KEY": "imgpipe/staging/terraform.tfstate", "TF_STATE_REGION": "eu-west-1"},
        tmp_path,
    )
    assert settings == ["bucket=b", "key=imgpipe/staging/terraform.tfstate", "region=eu-west-1"]
    with_key = tf.backend_settings(
        "staging",
        {"TF_STATE_BUCKET": "b", "TF_STATE_KEY": "k", "TF_STATE_REGION": "r", "TF_STATE_KMS_KEY_ID": "arn"},
        tmp_path,
    )
    assert with_key == ["bucket=b", "key=k", "region=r", "kms_key_id=arn"]
    with pytest.raises(tf.TfError, match="TF_STATE_KEY, TF_STATE_REGION are not"):
        tf.backend_settings("staging", {"TF_STATE_BUCKET": "b"}, tmp_path)
    with pytest.raises(tf.TfError, match=r"run `make bootstrap ENV=prod`"):
        tf.backend_settings("prod", {}, tmp_path)
    (tmp_path / "backend.hcl").write_text('bucket = "x"\n')
    assert tf.backend_settings("prod", {"TF_STATE_BUCKET": "b"}, tmp_path) == tmp_path / "backend.hcl"
