"""The container workers' ECS service (modules/workers), run locally as processes.

What ECS does on AWS, done here because this machine has no container engine: the service and its task
definition are read from the emulator, where Terraform made them, and the service's desiredCount tasks are
started, each a process running the container's command with the container's environment. The command is the
definition's entryPoint and command where it sets them, and otherwise the image's ENTRYPOINT and CMD, read from
its Dockerfile (containers/image_processor/Dockerfile) as Docker combines them. A task that exits is replaced,
as the service replaces it; stopping a task sends SIGTERM and, after the container's stopTimeout, SIGKILL, as
ECS does (the worker drains in between).

Differences from AWS, on purpose: a task runs the processor's source (lambdas/image_processor, the library on
the path) rather than the image, which holds the same files (tests/unit/test_container_image.py checks it);
the emulator's endpoint and credentials stand in for the task role; and nothing scales the service: it runs the
desiredCount Terraform set (min_tasks). What the task definition says is run as it says: envs/local asks for
1 s receives instead of 20 (workers poll_wait_seconds), so a restart of the local stack drains the tasks in its
5 s grace. The health file of each task is shown in the status.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.cli import REPO_ROOT
from scripts.local import stack
from scripts.local.lambda_host import LIBRARY_DIR

SOURCE_DIR = REPO_ROOT / "lambdas" / "image_processor"
DOCKERFILE = REPO_ROOT / "containers" / "image_processor" / "Dockerfile"
# Replacing a task that keeps failing at once would spin: ECS backs off too.
RESTART_DELAY_S = 2.0


class TaskDefinitionError(RuntimeError):
    """The deployed task definition is not one the local runner can run (no command, no container)."""


@dataclass(frozen=True)
class ServiceSpec:
    cluster: str
    service: str
    task_definition_arn: str
    desired_count: int
    command: tuple[str, ...]
    environment: dict[str, str]
    stop_timeout_s: float


def declared_service(outputs: dict[str, Any]) -> tuple[str, str] | None:
    """(cluster, service) of the workers the deployment declares (pipeline output processing, as the deploy writes
    the outputs: the pipeline's own, flattened), or None in the lambda processing mode."""
    processing = outputs.get("processing") or {}
    workers = processing.get("workers") if isinstance(processing, dict) else None
    if not isinstance(workers, dict):
        return None
    return str(workers["cluster_name"]), str(workers["service_name"])


def image_command(dockerfile: Path = DOCKERFILE) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The ENTRYPOINT and CMD of the image's last stage: what its container runs when the definition names none."""
    last: dict[str, tuple[str, ...]] = {"ENTRYPOINT": (), "CMD": ()}
    for line in re.sub(r"\\\n\s*", " ", dockerfile.read_text()).splitlines():  # continuation lines joined
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            last = {"ENTRYPOINT": (), "CMD": ()}  # a stage inherits its base image's, which are not ours to read
        elif instruction.upper() in last:
            try:
                words = json.loads(arguments)
            except ValueError:
                words = None
            if not (isinstance(words, list) and all(isinstance(w, str) for w in words)):
                raise TaskDefinitionError(f"{dockerfile}: {instruction} {arguments}: only the exec form runs locally")
            last[instruction.upper()] = tuple(words)
    return last["ENTRYPOINT"], last["CMD"]


def container_command(container: dict[str, Any], dockerfile: Path = DOCKERFILE) -> tuple[str, ...]:
    """As Docker runs it: entryPoint replaces the image's ENTRYPOINT and drops its CMD; command replaces CMD."""
    entry_point, cmd = image_command(dockerfile)
    if container.get("entryPoint"):
        entry_point, cmd = tuple(container["entryPoint"]), ()
    if container.get("command"):
        cmd = tuple(container["command"])
    if not entry_point + cmd:
        raise TaskDefinitionError(f"container {container.get('name')} names no command and its image has none")
    return entry_point + cmd


def read_service(ecs: Any, cluster: str, service: str, dockerfile: Path = DOCKERFILE) -> ServiceSpec:
    """The service as the emulator holds it: its task definition's one container, and the desired count."""
    described = ecs.describe_services(cluster=cluster, services=[service])["services"]
    if not described:
        raise TaskDefinitionError(f"the ECS service {service} is not in cluster {cluster}: run `make up`")
    found = described[0]
    definition = ecs.describe_task_definition(taskDefinition=found["taskDefinition"])["taskDefinition"]
    containers = definition.get("containerDefinitions") or []
    if len(containers) != 1:
        raise TaskDefinitionError(f"{definition['taskDefinitionArn']} has {len(containers)} containers, not one")
    container = containers[0]
    return ServiceSpec(
        cluster=cluster,
        service=service,
        task_definition_arn=str(definition["taskDefinitionArn"]),
        desired_count=int(found.get("desiredCount", 0)),
        command=container_command(container, dockerfile),
        environment={e["name"]: e["value"] for e in container.get("environment", [])},
        stop_timeout_s=float(container.get("stopTimeout", 30)),
    )


@dataclass
class TaskStats:
    started: int = 0
    exited: list[int] = field(default_factory=list)  # exit codes of tasks that ended (a drain ends with 0)
    last_error: str | None = None


class LocalService:
    """desired_count worker processes for one ECS service, replaced when they exit, drained when stopped."""

    def __init__(self, spec: ServiceSpec, cfg: stack.StackConfig, log_dir: Path):
        self.spec = spec
        self.stats = TaskStats()
        self._cfg = cfg
        self.log_dir = log_dir
        self._tasks: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def task_environment(self, slot: int) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("IMGPIPE_")},
            **self.spec.environment,
            **self._cfg.client_env(),  # the emulator's endpoint and credentials, for the task role's
            "PYTHONPATH": str(LIBRARY_DIR),
            # The container's /tmp volume, one per task.
            "WORKER_HEALTH_FILE": str(self.log_dir / f"worker-task-{slot}.healthy"),
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon beside a local task
        }

    def _argv(self) -> list[str]:
        command = list(self.spec.command)
        if command and Path(command[0]).name.startswith("python"):
            command[0] = sys.executable  # the image's interpreter is the checkout's here
        return command

    def _start(self, slot: int) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"worker-task-{slot}.log").open("ab")
        self._tasks[slot] = subprocess.Popen(
            self._argv(), cwd=SOURCE_DIR, env=self.task_environment(slot), stdout=log, stderr=log
        )
        log.close()
        self.stats.started += 1

    def run_forever(self, stop: threading.Event) -> None:
        """Keep desired_count tasks running until stop is set, then drain them all."""
        try:
            while not stop.is_set():
                with self._lock:
                    for slot in range(self.spec.desired_count):
                        task = self._tasks.get(slot)
                        if task is not None and task.poll() is not None:
                            self.stats.exited.append(task.returncode)
                            del self._tasks[slot]
                            continue  # replaced on the next round, after the delay
                        if task is None and not stop.is_set():
                            self._start(slot)
                stop.wait(RESTART_DELAY_S)
        finally:
            self.drain()

    def drain(self) -> None:
        """SIGTERM every task, SIGKILL what is still running after the container's stopTimeout."""
        with self._lock:
            tasks = list(self._tasks.values())
            for task in tasks:
                if task.poll() is None:
                    task.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.spec.stop_timeout_s
            for task in tasks:
                try:
                    task.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    task.kill()
                    task.wait()
                self.stats.exited.append(task.returncode)
            self._tasks.clear()

    def status(self) -> dict[str, Any]:
        with self._lock:
            running = [t.pid for t in self._tasks.values() if t.poll() is None]
        health = {}
        for slot in range(self.spec.desired_count):
            path = self.log_dir / f"worker-task-{slot}.healthy"
            health[str(slot)] = round(time.time() - path.stat().st_mtime, 1) if path.exists() else None
        return {
            "cluster": self.spec.cluster,
            "service": self.spec.service,
            "task_definition": self.spec.task_definition_arn,
            "desired_count": self.spec.desired_count,
            "running_pids": running,
            "seconds_since_health": health,
            "started": self.stats.started,
            "exited": self.stats.exited,
        }
