"""What ENV=local's Terraform deployed, as the deploy recorded it for the local runtime.

The runtime (gateway, worker, time travel) needs the deployed names and settings but must not run Terraform
itself: that would make the bottom layer depend on the deploy layer. `python -m scripts.deploy.tf deploy local`
writes the env's outputs here after every deploy (and when there was nothing to apply); `make down` forgets them
with the emulator that held those resources.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scripts.local.config import StackConfig, StackError

FILE_NAME = "outputs-local.json"


def path(cfg: StackConfig) -> Path:
    return cfg.run_dir / FILE_NAME


def write(cfg: StackConfig, outputs: dict[str, Any]) -> Path:
    target = path(cfg)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written aside then renamed: a runtime starting meanwhile reads the old outputs or the new, never half.
    pending = target.with_suffix(".json.tmp")
    pending.write_text(json.dumps(outputs, indent=2, sort_keys=True, default=str) + "\n")
    pending.replace(target)
    return target


def read(cfg: StackConfig) -> dict[str, Any]:
    """The deployed outputs; StackError when nothing was deployed to this stack (or the file is damaged)."""
    source = path(cfg)
    try:
        values = json.loads(source.read_text())
    except FileNotFoundError:
        raise StackError(f"nothing deployed to the local stack ({source} is missing): run `make up`") from None
    except ValueError as err:
        raise StackError(f"{source} is not the deploy's JSON ({err}): run `make up` again") from None
    if not isinstance(values, dict):
        raise StackError(f"{source} does not hold an object of outputs: run `make up` again")
    return values


def forget(cfg: StackConfig) -> None:
    path(cfg).unlink(missing_ok=True)
