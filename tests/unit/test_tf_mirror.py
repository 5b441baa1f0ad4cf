"""Provider mirror detection: explicit setting, auto-detection, and plain registry init when there is none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.deploy import tf

PLATFORM = "linux_amd64"


def make_mirror(root: Path, layout: str = "unpacked", platform: str = PLATFORM) -> Path:
    provider = root / "registry.terraform.io" / "hashicorp" / "aws"
    if layout == "unpacked":
        (provider / "5.100.0" / platform).mkdir(parents=True)
        (provider / "5.100.0" / platform / "terraform-provider-aws_v5.100.0_x5").write_text("")
    else:
        provider.mkdir(parents=True)
        (provider / f"terraform-provider-aws_5.100.0_{platform}.zip").write_text("")
    return root


@pytest.mark.parametrize("layout", ["unpacked", "packed"])
def test_auto_detects_a_mirror_in_either_layout(tmp_path: Path, layout: str) -> None:
    mirror = make_mirror(tmp_path / "m", layout)
    found = tf.find_provider_mirror({}, candidates=(str(tmp_path / "missing"), str(mirror)), tf_platform=PLATFORM)
    assert found == mirror


def test_mirror_for_another_platform_is_not_used(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path / "m", platform="darwin_arm64")
    assert tf.find_provider_mirror({}, candidates=(str(mirror),), tf_platform=PLATFORM) is None


def test_explicit_setting_wins_over_candidates(tmp_path: Path) -> None:
    auto = make_mirror(tmp_path / "auto")
    explicit = make_mirror(tmp_path / "explicit")
    found = tf.find_provider_mirror(
        {"IMGPIPE_TF_PLUGIN_DIR": str(explicit)}, candidates=(str(auto),), tf_platform=PLATFORM
    )
    assert found == explicit


def test_explicit_setting_without_provider_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(tf.TfError, match=r"holds no registry\.terraform\.io/hashicorp/aws"):
        tf.find_provider_mirror({"IMGPIPE_TF_PLUGIN_DIR": str(tmp_path)}, candidates=(), tf_platform=PLATFORM)


def test_no_mirror_means_plain_registry_init(tmp_path: Path) -> None:
    assert tf.find_provider_mirror({}, candidates=(str(tmp_path),), tf_platform=PLATFORM) is None


def test_unknown_env_is_refused() -> None:
    with pytest.raises(tf.TfError, match="unknown ENV='qa'"):
        tf.env_dir("qa")


def test_local_env_points_terraform_at_the_stack(tmp_path: Path) -> None:
    from scripts.local import stack

    cfg = stack.StackConfig(run_dir=tmp_path, moto_port=4999, api_port=8123)
    environ = tf.run_env("local", cfg)
    assert environ["TF_VAR_endpoint_url"] == "http://127.0.0.1:4999"
    assert environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] == "true"
    # the local gateway's origin, under both loopback names, is the web app's
    assert json.loads(environ["TF_VAR_web_origins"]) == ["http://127.0.0.1:8123", "http://localhost:8123"]


def test_staging_env_is_left_to_the_real_credential_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_VAR_endpoint_url", raising=False)
    environ = tf.run_env("staging")
    assert "TF_VAR_endpoint_url" not in environ


def test_init_fingerprint_follows_local_modules_transitively(tmp_path: Path) -> None:
    """A module added deep in the tree (env -> pipeline -> processing) must trigger a new init."""
    (tmp_path / "env").mkdir()
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "processing").mkdir()
    (tmp_path / "env" / "main.tf").write_text('module "pipeline" {\n  source = "../pipeline"\n}\n')
    (tmp_path / "pipeline" / "main.tf").write_text("# nothing yet\n")
    before = tf._init_fingerprint(tmp_path / "env", ["init"])

    (tmp_path / "pipeline" / "main.tf").write_text('module "processing" {\n  source = "../processing"\n}\n')
    added = tf._init_fingerprint(tmp_path / "env", ["init"])
    (tmp_path / "processing" / "main.tf").write_text('module "inner" {\n  source = "./inner"\n}\n')
    deeper = tf._init_fingerprint(tmp_path / "env", ["init"])

    assert len({before, added, deeper}) == 3
    assert tf._init_fingerprint(tmp_path / "env", ["init"]) == deeper
