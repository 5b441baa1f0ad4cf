"""Imports a function's handler module from lambdas/<name>/handler.py the way the Lambda runtime would."""

from __future__ import annotations

import importlib.util
import sys
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
