"""`make test` runs on every core; the tests of the deployed stack must still share one worker (one deploy).
Run on a small project with this suite's grouping hook, under pytest-xdist, as `make test` runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from scripts.cli import REPO_ROOT

CONFTEST = """
import os
import pytest
from tests.conftest import pytest_collection_modifyitems  # the hook under test

@pytest.fixture(scope="session")
def deployed():
    return os.environ.get("PYTEST_XDIST_WORKER")
"""


def test_modules_of_the_deployed_stack_run_on_one_worker_and_others_spread(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    (tests / "integration").mkdir(parents=True)
    (tests / "unit").mkdir()
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for module in ("test_one", "test_two"):  # two modules sharing the stack
        (tests / "integration" / f"{module}.py").write_text(
            "".join(f"def test_{n}(deployed): pass\n" for n in range(4))
        )
    # Each unit test takes a moment, so that both workers are still taking tests when the group is done: which
    # worker runs which test is otherwise a race that a loaded machine can give to one worker.
    (tests / "unit" / "test_pure.py").write_text(
        "import time\n" + "".join(f"def test_{n}(): time.sleep(0.3)\n" for n in range(8))
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'shared'}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    ran = re.findall(r"\[(gw\d)\] .*PASSED (tests/\S+)", out.stdout)
    stack_workers = {worker for worker, test in ran if "/integration/" in test}
    assert len([t for _, t in ran if "/integration/" in t]) == 8
    assert len(stack_workers) == 1, ran
    assert len({worker for worker, test in ran if "/unit/" in test}) == 2, ran
