"""`make test` runs on every core; the tests of the deployed stack must still share one worker (one deploy).
Run on a small project with this suite's grouping hook, under pytest-xdist, as `make test` runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from scripts.cli import REPO_ROOT
from tests.conftest import YIELDING_NICENESS

CONFTEST = """
import os
import pytest
from tests.conftest import pytest_collection_modifyitems, pytest_runtest_setup  # the hooks under test

@pytest.fixture(scope="session")
def deployed():
    return os.environ.get("PYTEST_XDIST_WORKER")

@pytest.fixture(scope="session")
def second_plan(deployed):
    return deployed
"""


def pytest_in(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest over the small project's tests, with this suite's grouping hook importable; it must pass."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'shared'}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def test_modules_of_the_deployed_stack_run_on_one_worker_and_others_spread(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    (tests / "integration").mkdir(parents=True)
    (tests / "unit").mkdir()
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for module in ("test_one", "test_two"):  # two modules sharing the stack
        (tests / "integration" / f"{module}.py").write_text(
            # the stack's worker keeps the priority it started with (the others yield to it)
            "import os\n" + "".join(f"def test_{n}(deployed): assert os.nice(0) == {os.nice(0)}\n" for n in range(4))
        )
    # Each unit test takes a moment, so that both workers are still taking tests when the group is done: which
    # worker runs which test is otherwise a race that a loaded machine can give to one worker.
    yielded = min(os.nice(0) + YIELDING_NICENESS, 19)  # the other workers yield to the stack's
    (tests / "unit" / "test_pure.py").write_text(
        "import os, time\n"
        + "".join(f"def test_{n}(): time.sleep(0.3); assert os.nice(0) == {yielded}\n" for n in range(8))
    )
    out = pytest_in(tmp_path, "-n", "2", "--dist", "loadgroup", "-v")
    ran = re.findall(r"\[(gw\d)\] .*PASSED (tests/\S+)", out.stdout)
    stack_workers = {worker for worker, test in ran if "/integration/" in test}
    assert len([t for _, t in ran if "/integration/" in t]) == 8
    assert len(stack_workers) == 1, ran
    assert len({worker for worker, test in ran if "/unit/" in test}) == 2, ran


def test_the_longest_work_is_queued_first_and_xdist_keeps_that_order(tmp_path: Path) -> None:
    """The deployed stack's modules (those that read its background plans last), then the e2e workflow, then
    other integration modules, then the terraform suites by their weight (pipeline and ingest_api, measured
    longest, before a small module), then unit tests."""
    tests = tmp_path / "tests"
    for part in ("integration", "e2e", "terraform", "unit"):
        (tests / part).mkdir(parents=True)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tests / "unit" / "test_a_pure.py").write_text("def test_pure(): pass\n")
    (tests / "integration" / "test_a_big.py").write_text("".join(f"def test_{n}(): pass\n" for n in range(8)))
    (tests / "integration" / "test_shared.py").write_text("def test_read(deployed): pass\n")
    # reads a plan the deploy starts in the background: last of the stack's modules, though first by name
    (tests / "integration" / "test_plan_reader.py").write_text("def test_read(deployed, second_plan): pass\n")
    (tests / "e2e" / "test_flow.py").write_text("".join(f"def test_{n}(): pass\n" for n in range(3)))
    (tests / "terraform" / "test_suites.py").write_text(
        "import pytest\n"
        '@pytest.mark.parametrize("suite", ["modules/queue", "modules/ingest_api", "modules/pipeline"])\n'
        "def test_suite(suite): pass\n"
    )
    out = pytest_in(tmp_path, "--collect-only", "-q")
    order = [line for line in out.stdout.splitlines() if line.startswith("tests/")]
    modules = list(dict.fromkeys(line.split("::")[0] for line in order))
    assert modules == [
        "tests/integration/test_shared.py",
        "tests/integration/test_plan_reader.py",
        "tests/e2e/test_flow.py",
        "tests/integration/test_a_big.py",
        "tests/terraform/test_suites.py",
        "tests/unit/test_a_pure.py",
    ], order
    suites = [line.split("[")[1].rstrip("]") for line in order if "test_suite[" in line]
    assert suites == ["modules/pipeline", "modules/ingest_api", "modules/queue"]
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "--dist loadgroup --no-loadscope-reorder" in makefile  # xdist would otherwise sort groups by size
