"""`make bench` measures every handler's cold import against a bare `import boto3` in the same run."""

from __future__ import annotations

import pytest

from scripts.cli import REPO_ROOT
from scripts.dev import bench


def test_every_handler_is_measured_against_boto3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench, "IMPORT_RUNS", 1)
    monkeypatch.setattr(bench, "RESULTS", {})
    assert bench.bench_imports() == 0
    measured = bench.RESULTS["imports"]
    handlers = {p.parent.name for p in (REPO_ROOT / "lambdas").glob("*/handler.py")}
    assert handlers and set(measured) == handlers | {"boto3_ms"}
    assert all(measured[name]["ms"] > 0 and measured[name]["ratio"] > 0 for name in handlers)
    out = capsys.readouterr().out
    assert all(name in out for name in handlers)
