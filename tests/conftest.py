"""Fixtures shared by every test layer: free ports, an isolated local stack, a copy of the Terraform tree."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from scripts.deploy import tf
from scripts.local import stack

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_config(run_dir: Path) -> stack.StackConfig:
    """A stack on fresh ports in its own run dir: tests never touch a developer's `make up` stack."""
    return stack.StackConfig(
        run_dir=run_dir,
        moto_port=free_port(),
        kafka_port=free_port(),
        api_port=free_port(),
        worker_port=free_port(),
    )


def copy_terraform_tree(destination: Path) -> Path:
    """terraform/ without working state, so tests init and apply without touching the checkout's; and web/ beside
    it, which modules/web uploads (its files and site.json)."""
    target = destination / "terraform"
    shutil.copytree(
        REPO_ROOT / "terraform",
        target,
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate", "*.tfstate.*", "*.tfplan", "backend.hcl"),
    )
    shutil.copytree(REPO_ROOT / "web", destination / "web", ignore=shutil.ignore_patterns("node_modules"))
    return target


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.StackConfig]:
    """moto + Tansu started once for the session, stopped by PID at the end."""
    cfg = isolated_config(tmp_path_factory.mktemp("run"))
    with stack.running(cfg, log=lambda _msg: None):
        yield cfg


@pytest.fixture
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, with placeholder credentials and no endpoint: no call leaves the test."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


# What takes longest goes first, so that under pytest-xdist (`make test`: -n <cores + 1> --dist loadgroup
# --no-loadscope-reorder, which keeps this order) no worker is left with a long suite while the others idle: the
# deployed stack's group and the e2e workflow start at once on workers of their own (xdist's own order, by group
# size, queued the e2e behind five smaller modules), then the other integration modules, then the terraform
# suites, longest (run blocks times resources) first. Without xdist the order changes nothing a test may rely on.
_FIRST = ("tests/e2e", "tests/integration", "tests/terraform")
DEPLOYED_STACK_GROUP = "deployed-stack"
# The fixtures by which tests read the Terraform runs that the deploy starts in the background
# (tests/integration/plans.py): started only when a selected test asks for one.
PLANS_READ_BY = ("second_plan", "staging_shape_plan", "pipeline_roles")


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _plan_weight(item: pytest.Item) -> int:
    """A terraform suite's run blocks (each one a plan) times the resources each plan evaluates (its module and
    the modules it calls): what `terraform test`'s time grows with (pipeline and ingest_api take the longest)."""
    suite = getattr(getattr(item, "callspec", None), "params", {}).get("suite")
    if not isinstance(suite, str):
        return 0
    directory = REPO_ROOT / "terraform" / suite
    runs = sum(f.read_text().count("\nrun ") for f in directory.glob("tests/*.tftest.hcl"))
    resources = sum(f.read_text().count('\nresource "') for d in tf._module_dirs(directory) for f in d.glob("*.tf"))
    return runs * resources


def _group(item: pytest.Item, config: pytest.Config, group: str) -> None:
    item.add_marker(pytest.mark.xdist_group(group))
    if getattr(config.option, "loadgroup", False) and hasattr(item, "_id"):
        # xdist tells its scheduler a test's group by suffixing the test id with "@group", through the attribute
        # pytest < 9.2 kept the id in; pytest 9.2 keeps it in `_id`, so the suffix is lost and every group is
        # silently spread over all workers (pytest-xdist#1386, open). Until xdist writes `_id`, write it here.
        from _pytest.nodeid import coerce_node_id

        item._id = coerce_node_id(f"{item.nodeid}@{group}")


# The deployed stack's worker is the suite's critical path: its modules share one stack, so no other worker can
# take them, and it ran alone for the last ~230 s of a 2-core CI run while the others had finished. Every other
# worker lowers its priority (and that of the processes it starts) when it first runs a test outside that group,
# so the stack's emulator, functions and Terraform get a core when they want one and the rest fill the gaps.
YIELDING_NICENESS = 5


_yielded = False  # this worker has lowered its priority (it cannot raise it again)


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures start processes that would keep the old priority
def pytest_runtest_setup(item: pytest.Item) -> None:
    global _yielded
    marker = item.get_closest_marker("xdist_group")
    in_stack_group = marker is not None and marker.args[:1] == (DEPLOYED_STACK_GROUP,)
    if not _yielded and not in_stack_group and "PYTEST_XDIST_WORKER" in os.environ:
        os.nice(YIELDING_NICENESS)
        _yielded = True


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group markers into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """xdist groups: every module that uses the session's deployed stack runs on one worker (the stack is deployed
    once, a few minutes, not once per worker); each other integration or e2e module runs whole on one worker (its
    module fixtures, a broker or a copy of the checkout, are set up once). Terraform suites and unit tests are
    spread test by test."""
    sharing = {_module(item) for item in items if "deployed" in getattr(item, "fixturenames", ())}
    for item in items:
        module = _module(item)
        if module in sharing:
            _group(item, config, DEPLOYED_STACK_GROUP)
        elif module.startswith(("tests/integration", "tests/e2e")):
            _group(item, config, module)

    # The stack's modules that read its background plans (tests/integration/plans.py) go last in its group, so
    # that the other modules' tests run while those plans are made instead of waiting for them.
    reading_plans = {_module(i) for i in items if set(getattr(i, "fixturenames", ())) & set(PLANS_READ_BY)}

    def rank(item: pytest.Item) -> tuple[int, int]:
        module = _module(item)
        if module in sharing:
            return 0, int(module in reading_plans)
        first = next((i + 1 for i, prefix in enumerate(_FIRST) if module.startswith(prefix)), len(_FIRST) + 1)
        return first, -_plan_weight(item)

    items.sort(key=rank)  # stable: a module's tests stay together and in order
