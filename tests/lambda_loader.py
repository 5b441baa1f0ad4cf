"""Imports a function's handler module from lambdas/<name>/handler.py the way the Lambda runtime would."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parent.parent


def load_handler(function: str) -> ModuleType:
    path = REPO_ROOT / "lambdas" / function / "handler.py"
    name = f"lambda_{function}_handler"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class FakeContext:
    """The LambdaContext attributes Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
