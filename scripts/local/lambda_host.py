"""Runs deployed Lambda functions in-process, as the local runtime's stand-in for the Lambda service.

moto stores functions but cannot run them without Docker. The function's handler, environment and memory come
from the emulator's Lambda (what Terraform deployed); its code from the lambdas/ folder named by the function's
`imgpipe:function` tag. Used by the local API gateway and the local event-source worker, and by the tests that
call a handler directly (`load_handler`, `LocalContext`): one loader and one context for both.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from scripts.cli import REPO_ROOT
from scripts.local import stack
from scripts.local.config import LOCAL_REGION

FUNCTION_TAG = "imgpipe:function"
FUNCTIONS_DIR = REPO_ROOT / "lambdas"
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


def load_handler(folder: str, module: str = "handler", functions_dir: Path = FUNCTIONS_DIR) -> ModuleType:
    """Import lambdas/<folder>/<module>.py afresh, as a cold start does: module-level set-up runs again and
    reads the environment as it is now (tests set it first; the host sets the deployed one)."""
    path = functions_dir / folder / f"{module.replace('.', '/')}.py"
    if not path.is_file():
        raise GatewayError(f"handler source {path} does not exist")
    name = f"lambda_{folder}_{module.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise GatewayError(f"cannot import {path}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


class FunctionHost:
    """Runs deployed functions in-process from their source folder, with their deployed settings."""

    def __init__(self, lambda_client: Any, cfg: stack.StackConfig, functions_dir: Path = FUNCTIONS_DIR):
        self._lambda = lambda_client
        self._cfg = cfg
        self._functions_dir = functions_dir
        self._loaded: dict[str, tuple[Any, dict[str, str], dict[str, Any]]] = {}
        self._lock = threading.Lock()  # one invocation at a time: settings live in os.environ, as in Lambda

    def _load(self, name: str) -> tuple[Any, dict[str, str], dict[str, Any]]:
        if name not in self._loaded:
            conf = self._lambda.get_function_configuration(FunctionName=name)
            tags = self._lambda.list_tags(Resource=conf["FunctionArn"]).get("Tags", {})
            folder = tags.get(FUNCTION_TAG)
            if not folder:
                raise GatewayError(f"function {name} has no {FUNCTION_TAG} tag naming its lambdas/ folder")
            module_name, _, attribute = conf["Handler"].rpartition(".")
            env = {**conf.get("Environment", {}).get("Variables", {}), **self._cfg.client_env()}
            with self._environment(env):
                module = load_handler(folder, module_name, self._functions_dir)
            self._loaded[name] = (getattr(module, attribute), env, conf)
        return self._loaded[name]

    @contextlib.contextmanager
    def _environment(self, env: dict[str, str]) -> Iterator[None]:
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        with self._lock:
            function, env, conf = self._load(name)
            context = LocalContext(
                name,
                conf["FunctionArn"],
                int(conf.get("MemorySize", 128)),
                timeout_s=float(conf.get("Timeout", 3)),
            )
            with self._environment(env):
                return function(event, context)
