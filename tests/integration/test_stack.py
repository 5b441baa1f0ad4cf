"""The local stack manager against the real moto server and Tansu broker processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from scripts.local import stack
from tests.conftest import isolated_config

pytestmark = pytest.mark.integration


def states(cfg: stack.StackConfig) -> dict[str, str]:
    """moto and Tansu only: the API gateway and worker run after a deploy (see tests/e2e) and are stopped here."""
    found = {s.name: s.state for s in stack.status(cfg)}
    assert found.pop("gateway") in ("stopped", "dead")
    assert found.pop("worker") in ("stopped", "dead")
    return found


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if stack._cmdline(pid) is None:
            return True
        time.sleep(0.05)
    return False


def test_up_status_refuse_twice_kill_recover_down(tmp_path: Path) -> None:
    cfg = isolated_config(tmp_path / "run")
    messages: list[str] = []
    stack.up(cfg, log=messages.append)
    try:
        first = {n: stack.Record.load(stack.record_path(cfg, n)) for n in ("moto", "tansu")}
        assert all(first.values())
        assert states(cfg) == {"moto": "running", "tansu": "running"}
        report = {s.name: s for s in stack.status(cfg)}
        assert report["moto"].port == cfg.moto_port and report["moto"].uptime_s is not None

        # A shell that ran `eval "$(python -m scripts.local.stack env)"` exports these very endpoints: they are
        # still this stack's own processes, not external ones.
        exported = stack.StackConfig.from_env({**cfg.client_env(), "IMGPIPE_RUN_DIR": str(cfg.run_dir)})
        assert states(exported) == {"moto": "external", "tansu": "external"}
        assert states(stack.recognise_own(exported)) == {"moto": "running", "tansu": "running"}

        # A second `up` must not start another process.
        stack.up(cfg, log=messages.append)
        again = {n: stack.Record.load(stack.record_path(cfg, n)) for n in ("moto", "tansu")}
        assert {n: r.pid for n, r in again.items() if r} == {n: r.pid for n, r in first.items() if r}
        assert any("already running" in m for m in messages)

        # Killed by hand: status tells the truth, `up` cleans the stale record and recovers.
        moto_pid = first["moto"].pid  # type: ignore[union-attr]
        os.kill(moto_pid, signal.SIGKILL)
        assert wait_gone(moto_pid)
        assert states(cfg) == {"moto": "dead", "tansu": "running"}
        stack.up(cfg, log=messages.append)
        assert any("stale record" in m for m in messages)
        assert states(cfg) == {"moto": "running", "tansu": "running"}
    finally:
        pids = [r.pid for n in ("moto", "tansu") if (r := stack.Record.load(stack.record_path(cfg, n)))]
        stack.down(cfg, log=messages.append)
    assert all(wait_gone(pid) for pid in pids)
    assert states(cfg) == {"moto": "stopped", "tansu": "stopped"}
    assert messages[-1] == stack.LOST_ON_DOWN  # `make down` says what went with the emulator
    assert not list(cfg.run_dir.glob("*.json"))
    assert (cfg.run_dir / "moto.log").is_file()


def test_taken_port_is_explained_and_nothing_is_started(tmp_path: Path) -> None:
    cfg = isolated_config(tmp_path / "run")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", cfg.moto_port))
        squatter.listen()
        with pytest.raises(stack.StackError, match=rf"port {cfg.moto_port} .* in use .*IMGPIPE_MOTO_PORT"):
            stack.up(cfg, log=lambda _m: None)
    assert not stack.record_path(cfg, "moto").exists()


def test_a_port_still_held_by_the_process_that_died_is_waited_for(tmp_path: Path) -> None:
    """A process killed with -9 leaves /proc before its last thread has closed its listening socket (seen with
    the emulator's 64 threads): `up` right after the kill waits for the port rather than call it taken."""
    cfg = isolated_config(tmp_path / "run")
    cfg.run_dir.mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stack.Record("moto", gone.pid, cfg.moto_port, time.time(), ["python", "-m", "scripts.local.emulator"]).save(
        stack.record_path(cfg, "moto")
    )
    dying = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    dying.bind(("127.0.0.1", cfg.moto_port))
    dying.listen()
    threading.Timer(0.5, dying.close).start()
    messages: list[str] = []
    try:
        stack.up(cfg, log=messages.append)
        assert any("stale record" in m for m in messages)
        assert states(cfg) == {"moto": "running", "tansu": "running"}
    finally:
        stack.down(cfg, log=messages.append)


def test_down_leaves_processes_it_did_not_start_alone(tmp_path: Path) -> None:
    cfg = isolated_config(tmp_path / "run")
    cfg.run_dir.mkdir(parents=True)
    # A record naming a live process that is not ours (PID reuse): down must not signal it.
    stranger = stack.Record("moto", os.getpid(), cfg.moto_port, time.time(), ["/not/our/moto"])
    stranger.save(stack.record_path(cfg, "moto"))
    said: list[str] = []
    stack.down(cfg, log=said.append)
    assert stack._cmdline(os.getpid()) is not None
    assert not stack.record_path(cfg, "moto").exists()
    assert stack.LOST_ON_DOWN not in said  # nothing of ours held any state

    # Nor is someone else's emulator at the exported address taken for ours.
    assert stack.recognise_own(
        stack.StackConfig.from_env(
            {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{cfg.moto_port}", "IMGPIPE_RUN_DIR": str(cfg.run_dir)}
        )
    ).external_aws_endpoint


def test_external_endpoints_skip_the_embedded_services(tmp_path: Path) -> None:
    cfg = stack.StackConfig(
        run_dir=tmp_path, external_aws_endpoint="http://127.0.0.1:1", external_kafka_bootstrap="127.0.0.1:2"
    )
    messages: list[str] = []
    stack.up(cfg, log=messages.append)
    assert not list(tmp_path.glob("*.json"))
    assert states(cfg) == {"moto": "external", "tansu": "external"}
    assert cfg.client_env()["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert "AWS_ACCESS_KEY_ID" not in cfg.client_env()  # a real endpoint keeps the real credential chain
    assert any("using external endpoint" in m for m in messages)


def test_bad_port_setting_is_a_clear_error() -> None:
    with pytest.raises(stack.StackError, match="IMGPIPE_MOTO_PORT='abc' is not a TCP port"):
        stack.StackConfig.from_env({"IMGPIPE_MOTO_PORT": "abc"})
