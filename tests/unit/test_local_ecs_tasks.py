"""The local ECS service runner (scripts/local/ecs_tasks.py): what it reads from the emulator, and how it keeps,
replaces and stops its task processes as ECS would. The real worker as such a task: tests/integration/
test_processing_modes.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scripts.local import ecs_tasks
from scripts.local.config import StackConfig
from scripts.local.ecs_tasks import (
    LocalService,
    ServiceSpec,
    TaskDefinitionError,
    container_command,
    declared_service,
    image_command,
    read_service,
)


@pytest.fixture
def ecs(offline_aws: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("ecs")
        client.create_cluster(clusterName="imgpipe-t-workers")
        yield client


def register(ecs: Any, containers: list[dict[str, Any]]) -> str:
    arn: str = ecs.register_task_definition(family="imgpipe-t-worker", containerDefinitions=containers)[
        "taskDefinition"
    ]["taskDefinitionArn"]
    return arn


def test_the_service_is_read_as_terraform_made_it(ecs: Any) -> None:
    arn = register(
        ecs,
        [
            {
                "name": "worker",
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/w@sha256:" + "0" * 64,
                "memory": 2048,
                "stopTimeout": 115,
                "environment": [{"name": "QUEUE_URL", "value": "http://q"}, {"name": "TABLE_NAME", "value": "t"}],
            }
        ],
    )
    ecs.create_service(cluster="imgpipe-t-workers", serviceName="imgpipe-t-workers", taskDefinition=arn, desiredCount=3)

    spec = read_service(ecs, "imgpipe-t-workers", "imgpipe-t-workers")

    assert spec == ServiceSpec(
        cluster="imgpipe-t-workers",
        service="imgpipe-t-workers",
        task_definition_arn=arn,
        desired_count=3,
        command=("python3", "-m", "worker"),  # the Dockerfile's ENTRYPOINT: the definition sets none
        environment={"QUEUE_URL": "http://q", "TABLE_NAME": "t"},
        stop_timeout_s=115.0,
    )


IMAGE = """FROM base AS build
ENTRYPOINT ["make"]
CMD ["all"]
FROM base
HEALTHCHECK --interval=30s \\
  CMD ["python3", "-c", "print(1)"]
ENTRYPOINT ["python3", "-m", \\
    "worker"]
CMD ["--once"]
"""


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        ({}, ("python3", "-m", "worker", "--once")),  # the image's, from its last stage (not the build stage's)
        ({"command": ["--drain"]}, ("python3", "-m", "worker", "--drain")),  # command replaces CMD only
        ({"entryPoint": ["python3", "-m", "other"]}, ("python3", "-m", "other")),  # and drops the image's CMD
        ({"entryPoint": ["sh", "-c"], "command": ["exit 0"]}, ("sh", "-c", "exit 0")),
    ],
)
def test_a_task_runs_what_docker_would_from_the_definition_and_the_image(
    tmp_path: Path, container: dict[str, Any], expected: tuple[str, ...]
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(IMAGE)
    assert container_command({"name": "w", **container}, dockerfile) == expected


def test_the_shipped_image_runs_the_worker_module_and_a_command_nobody_names_is_refused(tmp_path: Path) -> None:
    assert image_command() == (("python3", "-m", "worker"), ())  # containers/image_processor/Dockerfile
    shell_form = tmp_path / "Dockerfile"
    shell_form.write_text("FROM base\nENTRYPOINT python3 -m worker\n")
    with pytest.raises(TaskDefinitionError, match="only the exec form"):
        image_command(shell_form)
    bare = tmp_path / "Bare"
    bare.write_text("FROM base\n")
    with pytest.raises(TaskDefinitionError, match="names no command"):
        container_command({"name": "w"}, bare)


def test_a_missing_service_or_a_definition_of_several_containers_is_refused(ecs: Any) -> None:
    with pytest.raises(TaskDefinitionError, match="run `make up`"):
        read_service(ecs, "imgpipe-t-workers", "absent")
    arn = register(ecs, [{"name": n, "image": "i", "memory": 512} for n in ("a", "b")])
    ecs.create_service(cluster="imgpipe-t-workers", serviceName="two", taskDefinition=arn, desiredCount=1)
    with pytest.raises(TaskDefinitionError, match="2 containers"):
        read_service(ecs, "imgpipe-t-workers", "two")


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        ({"processing": {"mode": "split", "workers": {"cluster_name": "c", "service_name": "s"}}}, ("c", "s")),
        ({"processing": {"mode": "containers", "workers": {"cluster_name": "c", "service_name": "s"}}}, ("c", "s")),
        ({"processing": {"mode": "lambda", "workers": None}}, None),
        ({}, None),  # a deployment from before the processing modes
    ],
)
def test_the_declared_service_is_the_deployments(outputs: dict[str, Any], expected: tuple[str, str] | None) -> None:
    assert declared_service(outputs) == expected


# A stand-in task: records its start, drains on SIGTERM (exit 0) unless told to ignore it.
TASK = """
import os, signal, sys, time
open(os.environ["STARTS"], "a").write(os.environ["WORKER_HEALTH_FILE"] + "\\n")
if os.environ.get("IGNORE_TERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
if os.environ.get("EXIT_AT_ONCE"):
    sys.exit(3)
while True:
    time.sleep(0.05)
"""


def service(tmp_path: Path, desired: int, stop_timeout_s: float = 5, **env: str) -> LocalService:
    spec = ServiceSpec(
        cluster="c",
        service="s",
        task_definition_arn="arn:aws:ecs:us-east-1:123456789012:task-definition/w:1",
        desired_count=desired,
        command=("python3", "-c", TASK),
        environment={"STARTS": str(tmp_path / "starts"), **env},
        stop_timeout_s=stop_timeout_s,
    )
    cfg = StackConfig(run_dir=tmp_path)
    return LocalService(spec, cfg, tmp_path)


def starts(tmp_path: Path) -> list[str]:
    path = tmp_path / "starts"
    return path.read_text().splitlines() if path.exists() else []


def wait_for(condition: Any, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_desired_count_tasks_run_each_with_its_own_health_file_and_drain_on_stop(tmp_path: Path) -> None:
    local = service(tmp_path, desired=3)
    stop = threading.Event()
    thread = threading.Thread(target=local.run_forever, args=(stop,))
    thread.start()
    wait_for(lambda: len(starts(tmp_path)) == 3)
    status = local.status()
    assert len(status["running_pids"]) == 3 and status["started"] == 3
    assert sorted(starts(tmp_path)) == [str(tmp_path / f"worker-task-{n}.healthy") for n in range(3)]

    stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert local.stats.exited == [0, 0, 0]  # SIGTERM, drained
    assert local.status()["running_pids"] == []


def test_a_task_that_exits_is_replaced_as_the_service_would(tmp_path: Path) -> None:
    local = service(tmp_path, desired=1, EXIT_AT_ONCE="1")
    stop = threading.Event()
    thread = threading.Thread(target=local.run_forever, args=(stop,))
    thread.start()
    wait_for(lambda: len(starts(tmp_path)) >= 2, timeout_s=ecs_tasks.RESTART_DELAY_S * 4 + 10)
    stop.set()
    thread.join(timeout=20)
    assert 3 in local.stats.exited


def test_a_task_that_ignores_sigterm_is_killed_after_the_stop_timeout(tmp_path: Path) -> None:
    local = service(tmp_path, desired=1, stop_timeout_s=1, IGNORE_TERM="1")
    stop = threading.Event()
    thread = threading.Thread(target=local.run_forever, args=(stop,))
    thread.start()
    wait_for(lambda: len(local.status()["running_pids"]) == 1 and len(starts(tmp_path)) == 1)
    time.sleep(0.3)  # the handler is installed
    began = time.monotonic()
    stop.set()
    thread.join(timeout=20)
    assert local.stats.exited == [-9]  # SIGKILL
    assert 1 <= time.monotonic() - began < 10


def test_the_task_gets_the_definitions_environment_and_the_emulators_endpoint(tmp_path: Path) -> None:
    local = service(tmp_path, desired=1, QUEUE_URL="http://127.0.0.1:4566/123456789012/q", WORKER_WAIT_SECONDS="20")
    env = local.task_environment(0)
    assert env["QUEUE_URL"] == "http://127.0.0.1:4566/123456789012/q"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["WORKER_HEALTH_FILE"] == str(tmp_path / "worker-task-0.healthy")
    # The definition's poll wait, not one of the runner's: envs/local asks for 1 s (workers poll_wait_seconds).
    assert env["WORKER_WAIT_SECONDS"] == "20"
    assert json.dumps(env)  # only strings: what Popen takes
