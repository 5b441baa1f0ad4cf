"""Runs deployed functions as the local runtime's stand-in for the Lambda service.

moto stores functions but cannot run them without Docker. The function's handler, environment, memory, timeout
and reserved concurrency come from the emulator's Lambda (what Terraform deployed); its code from the lambdas/
folder named by the function's `imgpipe:function` tag. Each concurrent invocation runs in an execution environment
of its own, a process (scripts/local/lambda_runtime.py) that imported the handler once with the function's
environment and is kept warm for the next invocation, as Lambda does; a function runs at most its reserved
concurrency (else the local account's) at once, and an invocation beyond that is throttled. Used by the local API
gateway, the event-source worker and time travel, and by the tests that call a handler directly (`load_handler`,
`LocalContext`): one loader and one context for both.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import Any

from scripts.cli import REPO_ROOT
from scripts.local import stack
from scripts.local.config import LOCAL_REGION

FUNCTION_TAG = "imgpipe:function"
FUNCTIONS_DIR = REPO_ROOT / "lambdas"
LIBRARY_DIR = REPO_ROOT / "shared"  # imgpipe, which every handler imports
# The account moto reports; only used to name a context's ARN when no deployed one is given.
LOCAL_ACCOUNT = "123456789012"


class GatewayError(Exception):
    """Discovery found something the local runtime cannot run faithfully."""


@dataclass
class LocalContext:
    """The Lambda context object, as the runtime passes it to a handler: the local host builds one per invocation
    from the deployed configuration; tests build one directly (name and timeout are what they care about)."""

    function_name: str
    invoked_function_arn: str = ""
    memory_limit_in_mb: int = 128  # Lambda's defaults, when the deployed configuration names none
    timeout_s: float = 3.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.invoked_function_arn:
            self.invoked_function_arn = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{self.function_name}"
        if not self.log_group_name:
            self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        """What is left of the deployed timeout since the invocation started, as Lambda counts it: a function
        that budgets its work by it (the processor releases an image it has no time left for) behaves here as
        it would on AWS. The timeout itself is not enforced locally."""
        return max(0, int((self.started + self.timeout_s - time.monotonic()) * 1000))


def handler_source(folder: str, module: str, functions_dir: Path = FUNCTIONS_DIR) -> Path:
    """lambdas/<folder>/<module>.py, refused before anything runs when it is not there."""
    path = functions_dir / folder / f"{module.replace('.', '/')}.py"
    if not path.is_file():
        raise GatewayError(f"handler source {path} does not exist")
    return path


def load_handler(folder: str, module: str = "handler", functions_dir: Path = FUNCTIONS_DIR) -> ModuleType:
    """Import lambdas/<folder>/<module>.py afresh, as a cold start does: module-level set-up runs again and
    reads the environment as it is now (tests set it first; the host sets the deployed one)."""
    path = handler_source(folder, module, functions_dir)
    name = f"lambda_{folder}_{module.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise GatewayError(f"cannot import {path}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


class FunctionError(Exception):
    """An invocation failed as Lambda reports it: the function's own exception (its type's name) or the runtime's
    (Runtime.ImportModuleError, Runtime.MarshalError, Runtime.ExitError, Sandbox.Timedout). str() is the message,
    as a handler raising Exception("Unauthorized") means it for API Gateway."""

    def __init__(self, function_name: str, error_type: str, message: str, trace: list[str] | None = None):
        super().__init__(message)
        self.function_name = function_name
        self.error_type = error_type
        self.trace = trace or []

    def __repr__(self) -> str:
        return f"FunctionError({self.function_name}: {self.error_type}: {self})"


class Throttled(FunctionError):
    """Lambda's TooManyRequestsException: every environment the function may have is busy."""

    def __init__(self, function_name: str, limit: int):
        super().__init__(
            function_name,
            "TooManyRequestsException",
            f"Rate Exceeded: {function_name} is running {limit} invocation(s), its concurrency limit",
        )
        self.limit = limit


NEW_ACCOUNT_CONCURRENCY = 10


def local_account_concurrency() -> int:
    """How many invocations of one function may run at once when it reserves none: a new AWS account's
    concurrency quota (10; an established one has 1,000), IMGPIPE_LOCAL_CONCURRENCY to change it."""
    configured = os.environ.get("IMGPIPE_LOCAL_CONCURRENCY", "").strip()
    if not configured:
        return NEW_ACCOUNT_CONCURRENCY
    if not configured.isdigit() or int(configured) < 1:
        raise GatewayError(f"IMGPIPE_LOCAL_CONCURRENCY={configured!r}: give a whole number >= 1")
    return int(configured)


# How long an environment may take to import its handler (Lambda allows 10 s for init, then retries it within the
# invocation; a loaded machine running the test suite needs more, and a hung import must still end).
INIT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DeployedFunction:
    name: str
    folder: str
    module: str
    attribute: str
    environment: dict[str, str]
    arn: str
    memory_mb: int
    timeout_s: float
    concurrency: int


class ExecutionEnvironment:
    """One warm sandbox of a function: a lambda_runtime process running one invocation at a time."""

    def __init__(self, function: DeployedFunction, functions_dir: Path, output: Any = None):
        self.function = function
        events_in, events_out = os.pipe()
        replies_in, replies_out = os.pipe()
        argv = [sys.executable, "-m", "scripts.local.lambda_runtime", function.folder, function.module]
        argv += [function.attribute, "--functions-dir", str(functions_dir)]
        argv += ["--events-fd", str(events_in), "--replies-fd", str(replies_out)]
        path = os.pathsep.join([str(REPO_ROOT), str(LIBRARY_DIR), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        try:
            self.process = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env={**os.environ, **function.environment, "PYTHONPATH": path},
                pass_fds=(events_in, replies_out),
                stdout=output,
                stderr=output,
            )
        finally:
            os.close(events_in)
            os.close(replies_out)
        self._events = Connection(events_out, readable=False)
        self._replies = Connection(replies_in, writable=False)
        ready = self._receive(INIT_TIMEOUT_S, "Sandbox.Timedout", f"init did not finish in {INIT_TIMEOUT_S:.0f} s")
        if "error" in ready:
            self.close()
            raise self._error(ready["error"])

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _error(self, found: dict[str, Any]) -> FunctionError:
        return FunctionError(
            self.function.name, str(found.get("errorType")), str(found.get("errorMessage")), found.get("stackTrace")
        )

    def _receive(self, timeout_s: float, timeout_type: str, timeout_message: str) -> dict[str, Any]:
        try:
            if not self._replies.poll(timeout_s):
                self.close()
                raise FunctionError(self.function.name, timeout_type, timeout_message)
            return dict(json.loads(self._replies.recv_bytes()))
        except (EOFError, OSError):  # the process ended without answering: killed, crashed, exited
            code = self.process.wait()
            self.close()
            how = f"signal: {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            raise FunctionError(self.function.name, "Runtime.ExitError", f"Runtime exited with error: {how}") from None

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        context = {
            "function_name": self.function.name,
            "invoked_function_arn": self.function.arn,
            "memory_limit_in_mb": self.function.memory_mb,
            "timeout_s": self.function.timeout_s,
            "aws_request_id": request_id,
        }
        with contextlib.suppress(OSError):  # it already ended: _receive says how
            self._events.send_bytes(json.dumps({"event": event, "context": context}).encode())
        timeout = self.function.timeout_s
        found = self._receive(timeout, "Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds")
        if "error" in found:
            raise self._error(found["error"])
        return found.get("result")

    def close(self) -> None:
        for end in (self._events, self._replies) if hasattr(self, "_replies") else ():
            end.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class FunctionHost:
    """Runs deployed functions, each invocation in a warm execution environment of its own (one process per
    concurrent invocation, reused afterwards), with their deployed settings."""

    def __init__(
        self,
        lambda_client: Any,
        cfg: stack.StackConfig,
        functions_dir: Path = FUNCTIONS_DIR,
        output: Any = None,
        environment: dict[str, str] | None = None,
    ):
        """output: where the functions' logs (stdout and stderr) go: a file, subprocess.DEVNULL; the host's own
        when None, as Lambda sends a function's output to its log group. environment: settings laid over every
        function's deployed ones (a test pointing a function at a faulty endpoint)."""
        self._lambda = lambda_client
        self._cfg = cfg
        self._overrides = dict(environment or {})
        self._functions_dir = functions_dir
        self._output = output
        self._deployed: dict[str, DeployedFunction] = {}
        self._idle: dict[str, list[ExecutionEnvironment]] = {}
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def function(self, name: str) -> DeployedFunction:
        """What the emulator's Lambda holds for the function, read once."""
        with self._lock:
            if name in self._deployed:
                return self._deployed[name]
        conf = self._lambda.get_function_configuration(FunctionName=name)
        tags = self._lambda.list_tags(Resource=conf["FunctionArn"]).get("Tags", {})
        folder = tags.get(FUNCTION_TAG)
        if not folder:
            raise GatewayError(f"function {name} has no {FUNCTION_TAG} tag naming its lambdas/ folder")
        module, _, attribute = conf["Handler"].rpartition(".")
        handler_source(folder, module, self._functions_dir)
        reserved = self._lambda.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        deployed = DeployedFunction(
            name=name,
            folder=folder,
            module=module,
            attribute=attribute,
            environment={
                **conf.get("Environment", {}).get("Variables", {}),
                **self._cfg.client_env(),
                **self._overrides,
            },
            arn=conf["FunctionArn"],
            memory_mb=int(conf.get("MemorySize", 128)),
            timeout_s=float(conf.get("Timeout", 3)),
            concurrency=int(reserved) if reserved is not None else local_account_concurrency(),
        )
        with self._lock:
            return self._deployed.setdefault(name, deployed)

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        """Runs one invocation in a free environment of the function (a new one while under its concurrency);
        raises FunctionError as Lambda reports a failure, Throttled when every environment it may have is busy."""
        function = self.function(name)
        with self._lock:
            if self._running.get(name, 0) >= function.concurrency:
                raise Throttled(name, function.concurrency)
            self._running[name] = self._running.get(name, 0) + 1
            idle = self._idle.setdefault(name, [])
            environment = idle.pop() if idle else None
        try:
            if environment is None:
                environment = ExecutionEnvironment(function, self._functions_dir, self._output)
            result = environment.invoke(event, str(uuid.uuid4()))
        except BaseException:
            if environment is not None and environment.alive:
                self._release(name, environment)  # a handler's error leaves its environment warm, as on AWS
            else:
                self._release(name, None)
            raise
        self._release(name, environment)
        return result

    def _release(self, name: str, environment: ExecutionEnvironment | None) -> None:
        with self._lock:
            self._running[name] -= 1
            if environment is not None:
                self._idle[name].append(environment)

    def environments(self, name: str) -> list[int]:
        """The process ids of the function's idle environments (for status and fault-injection tests)."""
        with self._lock:
            return [e.process.pid for e in self._idle.get(name, [])]

    def close(self) -> None:
        """Ends every idle environment (Lambda's shutdown of sandboxes it no longer needs)."""
        with self._lock:
            idle = [e for environments in self._idle.values() for e in environments]
            self._idle.clear()
        for environment in idle:
            environment.close()
