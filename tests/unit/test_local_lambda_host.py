"""The local function host against real execution-environment processes: each concurrent invocation in a
process of its own, kept warm, isolated from other functions' settings, limited to the function's concurrency,
and failures typed as Lambda reports them (the function's error, import and marshal errors, timeouts, a killed
environment)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from scripts.local import stack
from scripts.local.lambda_host import FunctionError, FunctionHost, GatewayError, Throttled, local_account_concurrency

HANDLERS = {
    "meet": """
import os, time
from pathlib import Path
COLD_STARTS = [time.time()]
def handler(event, context):
    here = Path(event["dir"])
    (here / str(os.getpid())).write_text("")
    deadline = time.monotonic() + 10
    while len(list(here.iterdir())) < event["expect"] and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"pid": os.getpid(), "met": len(list(here.iterdir())), "cold_starts": len(COLD_STARTS)}
""",
    "settings": """
import os
AT_INIT = os.environ.get("COLOUR")
def handler(event, context):
    return {"init": AT_INIT, "now": os.environ.get("COLOUR"), "pid": os.getpid(), "name": context.function_name,
            "request": context.aws_request_id}
""",
    "hold": """
import os, time
from pathlib import Path
def handler(event, context):
    Path(event["started"]).write_text(str(os.getpid()))
    deadline = time.monotonic() + event.get("max_s", 30)
    while not Path(event["release"]).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.getpid()
""",
    "fails": """
import os
def handler(event, context):
    if event.get("kind") == "raise":
        raise ValueError("no such image: " + event["id"])
    if event.get("kind") == "unmarshallable":
        return {"ids": {1, 2}}
    return os.getpid()
""",
    "broken_import": "import a_module_that_is_not_there\ndef handler(event, context):\n    return 1\n",
    "no_handler": "def something_else(event, context):\n    return 1\n",
}


class DeployedFunctions:
    """The calls FunctionHost makes of the emulator's Lambda: one function per folder above, named fn-<folder>."""

    def __init__(self, reserved: dict[str, int] | None = None, timeout: int = 20, colour: str = "blue") -> None:
        self.reserved = reserved or {}
        self.timeout = timeout
        self.colour = colour

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:{FunctionName}"
        settings = {"Variables": {"COLOUR": f"{self.colour}-{FunctionName}"}}
        return {"FunctionArn": arn, "Handler": "handler.handler", "Timeout": self.timeout, "Environment": settings}

    def list_tags(self, Resource: str) -> dict[str, Any]:
        return {"Tags": {"imgpipe:function": Resource.rsplit(":fn-", 1)[1]}}

    def get_function_concurrency(self, FunctionName: str) -> dict[str, Any]:
        found = self.reserved.get(FunctionName)
        return {} if found is None else {"ReservedConcurrentExecutions": found}


@pytest.fixture
def functions_dir(tmp_path: Path) -> Path:
    for folder, source in HANDLERS.items():
        (tmp_path / "functions" / folder).mkdir(parents=True)
        (tmp_path / "functions" / folder / "handler.py").write_text(source)
    return tmp_path / "functions"


@pytest.fixture
def make_host(functions_dir: Path, tmp_path: Path) -> Iterator[Any]:
    hosts: list[FunctionHost] = []

    def make(**deployed: Any) -> FunctionHost:
        host = FunctionHost(DeployedFunctions(**deployed), stack.StackConfig(run_dir=tmp_path), functions_dir)
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.close()


def wait_until_started(started: Path) -> int:
    """The pid of the environment running fn-hold, once its handler has begun."""
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return int(started.read_text())


def test_concurrent_invocations_run_at_once_each_in_its_own_process(make_host: Any, tmp_path: Path) -> None:
    host = make_host()
    (tmp_path / "meet").mkdir()
    event = {"dir": str(tmp_path / "meet"), "expect": 2}
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: host.invoke("fn-meet", event), range(2))
    # Run one after the other, the first would have waited out its 10 s alone and met nobody.
    assert first["met"] == second["met"] == 2 and first["pid"] != second["pid"]
    assert os.getpid() not in (first["pid"], second["pid"])
    assert sorted(host.environments("fn-meet")) == sorted([first["pid"], second["pid"]])  # both kept warm


def test_an_environment_is_reused_warm_one_invocation_at_a_time(make_host: Any, tmp_path: Path) -> None:
    host = make_host()
    (tmp_path / "meet").mkdir()
    event = {"dir": str(tmp_path / "meet"), "expect": 1}
    answers = [host.invoke("fn-meet", event) for _ in range(3)]
    assert len({a["pid"] for a in answers}) == 1 and {a["cold_starts"] for a in answers} == {1}


def test_each_function_sees_its_own_settings_and_the_host_none(make_host: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("COLOUR", raising=False)
    host = make_host()
    settings = host.invoke("fn-settings", {})
    assert settings["init"] == settings["now"] == "blue-fn-settings" and settings["name"] == "fn-settings"
    assert "COLOUR" not in os.environ  # nothing of a function's environment leaks into the host's
    again = host.invoke("fn-settings", {})
    assert again["request"] != settings["request"]  # a request id per invocation


def test_an_invocation_past_the_reserved_concurrency_is_throttled(make_host: Any, tmp_path: Path) -> None:
    host = make_host(reserved={"fn-hold": 1})
    started, release = tmp_path / "started", tmp_path / "release"
    event = {"started": str(started), "release": str(release)}
    with ThreadPoolExecutor(1) as pool:
        holding = pool.submit(host.invoke, "fn-hold", event)
        wait_until_started(started)
        with pytest.raises(Throttled) as throttled:
            host.invoke("fn-hold", {**event, "started": str(tmp_path / "other")})
        release.write_text("")
        assert holding.result(timeout=30) == int(started.read_text())
    assert throttled.value.error_type == "TooManyRequestsException" and throttled.value.limit == 1
    assert not (tmp_path / "other").exists()  # the throttled invocation never ran
    assert host.invoke("fn-hold", event) == int(started.read_text())  # free again, and warm


def test_the_function_s_error_is_typed_and_leaves_its_environment_warm(make_host: Any) -> None:
    host = make_host()
    pid = host.invoke("fn-fails", {})
    with pytest.raises(FunctionError) as raised:
        host.invoke("fn-fails", {"kind": "raise", "id": "img-1"})
    assert raised.value.error_type == "ValueError" and str(raised.value) == "no such image: img-1"
    assert any("ValueError" in line for line in raised.value.trace)
    assert host.invoke("fn-fails", {}) == pid


def test_a_result_json_cannot_carry_is_a_marshal_error(make_host: Any) -> None:
    with pytest.raises(FunctionError) as raised:
        make_host().invoke("fn-fails", {"kind": "unmarshallable"})
    assert raised.value.error_type == "Runtime.MarshalError"


@pytest.mark.parametrize(
    ("name", "error_type"),
    [("fn-broken_import", "Runtime.ImportModuleError"), ("fn-no_handler", "Runtime.HandlerNotFound")],
)
def test_a_handler_that_cannot_load_is_an_init_error(make_host: Any, name: str, error_type: str) -> None:
    host = make_host()
    with pytest.raises(FunctionError) as raised:
        host.invoke(name, {})
    assert raised.value.error_type == error_type and host.environments(name) == []


def test_a_missing_handler_source_is_refused_before_anything_runs(make_host: Any) -> None:
    with pytest.raises(GatewayError, match="does not exist"):
        make_host().invoke("fn-nowhere", {})


def test_an_invocation_past_its_timeout_is_stopped_and_its_environment_replaced(make_host: Any, tmp_path: Path) -> None:
    host = make_host(timeout=1)
    started = tmp_path / "started"
    event = {"started": str(started), "release": str(tmp_path / "never"), "max_s": 20}
    began = time.monotonic()
    with pytest.raises(FunctionError) as raised:
        host.invoke("fn-hold", event)
    assert raised.value.error_type == "Sandbox.Timedout" and str(raised.value) == "Task timed out after 1.00 seconds"
    assert time.monotonic() - began < 15  # stopped at the deadline, not when the handler gave up
    stopped = int(started.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(stopped, 0)
    with pytest.raises(FunctionError):
        host.invoke("fn-hold", event)
    assert int(started.read_text()) != stopped  # a new environment


def test_an_environment_killed_mid_invocation_fails_that_invocation_only(make_host: Any, tmp_path: Path) -> None:
    host = make_host()
    started, release = tmp_path / "started", tmp_path / "release"
    event = {"started": str(started), "release": str(release)}
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(host.invoke, "fn-hold", event)
        killed = wait_until_started(started)
        os.kill(killed, signal.SIGKILL)
        with pytest.raises(FunctionError) as raised:
            running.result(timeout=30)
    assert raised.value.error_type == "Runtime.ExitError" and "SIGKILL" in str(raised.value)
    release.write_text("")
    assert host.invoke("fn-hold", event) not in (killed, os.getpid())
    assert killed not in host.environments("fn-hold")


def test_closing_the_host_ends_its_environments(make_host: Any) -> None:
    host = make_host()
    pid = host.invoke("fn-fails", {})
    host.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"environment {pid} still running after close()")


def test_the_local_account_concurrency_is_a_new_account_s_or_the_configured(monkeypatch: Any) -> None:
    monkeypatch.delenv("IMGPIPE_LOCAL_CONCURRENCY", raising=False)
    assert local_account_concurrency() == 10
    monkeypatch.setenv("IMGPIPE_LOCAL_CONCURRENCY", "7")
    assert local_account_concurrency() == 7
    for wrong in ("0", "-1", "many"):
        monkeypatch.setenv("IMGPIPE_LOCAL_CONCURRENCY", wrong)
        with pytest.raises(GatewayError, match="IMGPIPE_LOCAL_CONCURRENCY"):
            local_account_concurrency()


def test_the_host_runs_invocations_from_many_threads_without_mixing_them(make_host: Any) -> None:
    host = make_host()
    results: list[int] = []
    lock = threading.Lock()

    def call(n: int) -> None:
        try:
            answer = host.invoke("fn-settings", {"n": n})
        except Throttled:
            return  # more threads than the local concurrency: throttled, as Lambda would
        with lock:
            results.append(answer["pid"])

    threads = [threading.Thread(target=call, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results and len(set(results)) <= local_account_concurrency()
