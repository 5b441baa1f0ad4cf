"""Integration fixtures: terraform/envs/local applied once per session into the session's local stack."""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from scripts.deploy import package, tf
from scripts.local import gateway as local_gateway
from scripts.local import stack
from scripts.local import worker as local_worker
from scripts.local.event_sources.sqs import SqsPoller
from scripts.local.lambda_host import FunctionHost
from scripts.ops import keys as key_admin
from scripts.ops.authz.engine import Role
from tests.conftest import PLANS_READ_BY, REPO_ROOT, copy_terraform_tree, isolated_config
from tests.integration import plans


@pytest.fixture(scope="session")
def plan_pool(local_stack: stack.StackConfig) -> Iterator[ThreadPoolExecutor]:
    """Where the plans of tests/integration/plans.py run; closed (waiting for them) before the emulator stops."""
    with ThreadPoolExecutor(max_workers=len(PLANS_READ_BY), thread_name_prefix="plan") as pool:
        yield pool


_STARTED_PLANS = pytest.StashKey[dict[str, "Future[Any]"]]()


@pytest.fixture(scope="session")
def deployed(
    local_stack: stack.StackConfig,
    tmp_path_factory: pytest.TempPathFactory,
    plan_pool: ThreadPoolExecutor,
    request: pytest.FixtureRequest,
) -> dict[str, Any]:
    """The env's outputs after a real apply (a copy of the tree, so the checkout's state is untouched). The
    Terraform runs that this session's tests read (tests/integration/plans.py) start here, in the background:
    the pipeline roles' apply during the deploy, the plans of the stack once it is deployed."""
    wanted = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    started: dict[str, Future[Any]] = {}
    request.config.stash[_STARTED_PLANS] = started
    if "pipeline_roles" in wanted:
        cicd = tmp_path_factory.mktemp("cicd")
        started["pipeline_roles"] = plan_pool.submit(
            plans.pipeline_roles_from_terraform, copy_terraform_tree(cicd), isolated_config(cicd / "run")
        )
    root = copy_terraform_tree(tmp_path_factory.mktemp("deploy")).parent
    # The envs read dist/lambda/manifest.json next to terraform/, as `make up` leaves it.
    package.build(REPO_ROOT / "lambdas", root / "dist" / "lambda", "arm64")
    environ = tf.run_env("local", local_stack)
    assert tf.deploy("local", environ, auto_approve=True, root=root) is True
    outputs = tf.outputs("local", environ, root=root)
    outputs["_root"] = root
    outputs["_environ"] = environ
    if "staging_shape_plan" in wanted:
        shaped = plans.reshape_as_staging(root)  # before the second plan holds the state's lock
        started["staging_shape_plan"] = plan_pool.submit(plans.plan_shaped, shaped, environ)
    if "second_plan" in wanted:
        started["second_plan"] = plan_pool.submit(plans.plan_again, root, environ)
    return outputs


def _started(request: pytest.FixtureRequest, name: str) -> Future[Any]:
    # `deployed` started every run a selected test reads, and only a selected test asks for one.
    return request.config.stash[_STARTED_PLANS][name]


@pytest.fixture
def background_plans_finished(request: pytest.FixtureRequest) -> None:
    """For a test that changes a deployed setting (and puts it back): the background plans must not read the
    stack meanwhile, or the no-op plan would report as drift what the test did."""
    for started in request.config.stash.get(_STARTED_PLANS, {}).values():
        started.exception()  # waits; a plan's own failure is reported by the test that reads it


@pytest.fixture(scope="session")
def second_plan(deployed: dict[str, Any], request: pytest.FixtureRequest) -> plans.SecondPlan:
    """The deployed env planned again (whether it has changes, the saved plan and its JSON): one refresh of ~220
    resources against the emulator that the no-op check and the plan-based authorization check both read."""
    found: plans.SecondPlan = _started(request, "second_plan").result()
    return found


@pytest.fixture(scope="session")
def pipeline_roles(deployed: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Role]:
    """envs/cicd's roles for staging, as Terraform makes them (tests/integration/plans.py), by role name."""
    return dict(_started(request, "pipeline_roles").result())


@pytest.fixture(scope="session")
def staging_shape_plan(deployed: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """The deployed stack planned as staging would run it (`terraform show -json` of the saved plan)."""
    return dict(_started(request, "staging_shape_plan").result())


@pytest.fixture(scope="session")
def keys(deployed: dict[str, Any], local_stack: stack.StackConfig) -> dict[str, str]:
    """One good key (team-a, of tenant team-a) and one revoked key, issued once into the deployed key table."""
    admin = key_admin.admin_for(deployed, local_stack)
    good = admin.issue("team-a", "Team A")
    old = admin.issue("old", "Former partner")
    admin.revoke("old")
    return {"good": good, "revoked": old}


@contextlib.contextmanager
def serving(gateway: local_gateway.Gateway, port: int = 0) -> Iterator[str]:
    """The gateway serving on 127.0.0.1:port (0: a free one) in a thread; its base URL."""
    server = local_gateway.make_server(gateway, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def base_url(deployed: dict[str, Any], local_stack: stack.StackConfig, keys: dict[str, str]) -> Iterator[str]:
    """The local gateway serving the deployed API on a free port, for the module's tests."""
    with serving(local_gateway.build(local_stack, deployed)) as url:
        yield url


@pytest.fixture(scope="module")
def host(local_stack: stack.StackConfig) -> Iterator[FunctionHost]:
    """One function host for a module's gateway and worker running at once: they share each function's
    execution environments and concurrency, as one account's callers of a function do."""
    found = FunctionHost(stack.aws_client(local_stack, "lambda"), local_stack)
    yield found
    found.close()


@pytest.fixture(scope="module")
def worker(deployed: dict[str, Any], local_stack: stack.StackConfig) -> Iterator[SqsPoller]:
    """The local worker's poller of the processor's SQS mapping (as Terraform deployed it), driven poll by poll
    by the tests (no background thread), so that every test decides when deliveries happen. The container
    workers' tasks run meanwhile, as `make up` runs them: in the split mode envs/local deploys, objects of 4 MiB
    or more are theirs (the function passes them on when the test polls)."""
    found = local_worker.build(local_stack, retry_seconds=0, outputs=deployed)
    assert len(found.pollers) == 1, [p.mapping for p in found.pollers]
    stop = threading.Event()
    tasks = [threading.Thread(target=s.run_forever, args=(stop,)) for s in found.services]
    for thread in tasks:
        thread.start()
    try:
        yield found.pollers[0]
    finally:
        stop.set()
        for thread in tasks:
            thread.join(timeout=130)  # they drain within their stop timeout
        if found.host is not None:
            found.host.close()


WAIT_S = 120  # bound on "processed within": each poll waits at most 1 s for messages


def drain_until(worker: SqsPoller, done: Callable[[], bool], what: str) -> float:
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < WAIT_S, f"not {what} within {WAIT_S}s: {worker.stats}"
        worker.poll_once(wait_s=1)
    return time.monotonic() - started


def exported_rows(local_stack: stack.StackConfig, bucket: str, prefix: str) -> list[dict[str, Any]]:
    s3 = stack.aws_client(local_stack, "s3")
    rows = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            body = gzip.decompress(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read())
            rows += [json.loads(line) for line in body.splitlines()]
    return rows
