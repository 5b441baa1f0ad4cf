"""`make up` skips Terraform on a stack that is already deployed only while nothing a local plan reads changed:
the configuration, the state, the packages, the web app, Terraform's environment, or the emulator process."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.deploy import tf
from scripts.local import outputs as deployed
from scripts.local import stack
from tests.conftest import isolated_config

ENVIRON = {"TF_VAR_endpoint_url": "http://127.0.0.1:4566", "AWS_DEFAULT_REGION": "us-east-1", "HOME": "/root"}


def own_process_record(cfg: stack.StackConfig, *, pid: int | None = None, started_at: float | None = None) -> None:
    """This test process stands in for the emulator the project started (is_ours reads its live command line)."""
    argv = [a for a in Path("/proc/self/cmdline").read_bytes().decode().split("\0") if a]
    stack.Record(
        name="moto",
        pid=pid or os.getpid(),
        port=cfg.moto_port,
        started_at=started_at or 1_000.0,
        argv=argv,
    ).save(stack.record_path(cfg, "moto"))


@pytest.fixture
def deployed_tree(tmp_path: Path) -> tuple[Path, stack.StackConfig]:
    root = tmp_path / "repo"
    files = {
        "terraform/envs/local/main.tf": 'module "pipeline" { source = "../../modules/pipeline" }\n',
        "terraform/envs/local/.terraform.lock.hcl": "# lock\n",
        "terraform/envs/local/terraform.tfstate": '{"serial": 7}\n',
        "terraform/envs/local/.terraform/imgpipe-init.sha256": "init\n",
        "terraform/modules/pipeline/main.tf": 'resource "aws_sqs_queue" "q" {}\n',
        "web/index.html": "<html></html>\n",
        "web/site.json": '{"public_files": ["index.html"]}\n',
        "dist/lambda/manifest.json": '{"upload_api": {"sha256": "abc"}}\n',
        "dist/lambda/upload_api.zip": "PK zip bytes",
    }
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    cfg = isolated_config(tmp_path / "run")
    cfg.run_dir.mkdir()
    own_process_record(cfg)
    deployed.write(cfg, {"raw_bucket_name": "imgpipe-local-raw"})
    tf.record_local_deploy(cfg, ENVIRON, root)
    return root, cfg


def test_a_deploy_just_recorded_is_current(deployed_tree: tuple[Path, stack.StackConfig]) -> None:
    root, cfg = deployed_tree
    assert (root / "terraform/envs/local/.terraform" / tf.APPLIED_STAMP).is_file()
    assert tf.local_deploy_is_current(cfg, ENVIRON, root)


def edit(name: str, content: str = "changed\n") -> Callable[[Path, stack.StackConfig], object]:
    return lambda root, _cfg: (root / name).write_text(content)


def touch_later(name: str) -> Callable[[Path, stack.StackConfig], object]:
    def change(root: Path, _cfg: stack.StackConfig) -> None:
        later = time.time() + 60
        os.utime(root / name, (later, later))

    return change


STALE: dict[str, Callable[[Path, stack.StackConfig], object]] = {
    "a module's configuration": edit("terraform/modules/pipeline/main.tf"),
    "a new file in a module": edit("terraform/modules/pipeline/extra.tf"),
    "the env's configuration": edit("terraform/envs/local/main.tf"),
    "the provider lock": edit("terraform/envs/local/.terraform.lock.hcl"),
    "the state (someone applied by hand)": edit("terraform/envs/local/terraform.tfstate", '{"serial": 8}\n'),
    "the web app": edit("web/index.html"),
    "the package manifest": edit("dist/lambda/manifest.json"),
    "a package rewritten": touch_later("dist/lambda/upload_api.zip"),
    "the emulator restarted": lambda _root, cfg: own_process_record(cfg, started_at=2_000.0),
    "the runtime's outputs file gone": lambda _root, cfg: deployed.path(cfg).unlink(),
    "the state gone (`make down`)": lambda root, _cfg: (root / "terraform/envs/local/terraform.tfstate").unlink(),
}


@pytest.mark.parametrize("change", list(STALE))
def test_anything_a_plan_reads_makes_it_stale(deployed_tree: tuple[Path, stack.StackConfig], change: str) -> None:
    root, cfg = deployed_tree
    STALE[change](root, cfg)
    assert not tf.local_deploy_is_current(cfg, ENVIRON, root)


@pytest.mark.parametrize(
    "environ",
    [
        {**ENVIRON, "TF_VAR_endpoint_url": "http://127.0.0.1:4999"},
        {**ENVIRON, "TF_VAR_web_origins": '["http://127.0.0.1:9000"]'},
        {**ENVIRON, "AWS_DEFAULT_REGION": "eu-west-1"},
        {k: v for k, v in ENVIRON.items() if k != "AWS_DEFAULT_REGION"},
    ],
)
def test_terraforms_environment_makes_it_stale(
    deployed_tree: tuple[Path, stack.StackConfig], environ: dict[str, str]
) -> None:
    root, cfg = deployed_tree
    assert not tf.local_deploy_is_current(cfg, environ, root)


def test_what_a_plan_does_not_read_leaves_it_current(deployed_tree: tuple[Path, stack.StackConfig]) -> None:
    root, cfg = deployed_tree
    local = root / "terraform/envs/local"
    (local / "local.tfplan").write_text("plan")
    (local / "local.tfplan.txt").write_text("review")
    (local / "terraform.tfstate.backup").write_text("{}")
    (local / ".terraform" / "imgpipe-init.sha256").write_text("re-initialised\n")
    (root / "web" / "node_modules" / "x").mkdir(parents=True)
    (root / "web" / "node_modules" / "x" / "index.js").write_text("//")
    assert tf.local_deploy_is_current(cfg, {**ENVIRON, "HOME": "/elsewhere", "VERBOSE": "1"}, root)


def test_an_emulator_this_project_did_not_start_is_never_trusted(
    deployed_tree: tuple[Path, stack.StackConfig],
) -> None:
    root, cfg = deployed_tree
    external = dataclasses.replace(cfg, external_aws_endpoint="http://127.0.0.1:1")  # AWS_ENDPOINT_URL elsewhere
    assert not tf.local_deploy_is_current(external, ENVIRON, root)
    tf.record_local_deploy(external, ENVIRON, root)
    assert not (root / "terraform/envs/local/.terraform" / tf.APPLIED_STAMP).exists()


def test_a_dead_emulator_process_is_not_current(deployed_tree: tuple[Path, stack.StackConfig]) -> None:
    root, cfg = deployed_tree
    own_process_record(cfg, pid=2**22 + 1)  # above Linux's pid_max default: no such process
    assert not tf.local_deploy_is_current(cfg, ENVIRON, root)
