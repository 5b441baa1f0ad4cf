"""Alarms, their topic and the dashboard as deployed into the emulator, read back: every deployed function and
queue is watched, every alarm of the pipeline notifies the encrypted topic, the dashboard draws every queue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts.local import stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def alarms(local_stack: stack.StackConfig) -> list[dict[str, Any]]:
    pages = (
        stack.aws_client(local_stack, "cloudwatch")
        .get_paginator("describe_alarms")
        .paginate(AlarmNamePrefix="imgpipe-local-")
    )
    return [a for p in pages for a in p["MetricAlarms"]]


def test_every_alarm_of_the_pipeline_notifies_the_encrypted_topic(
    local_stack: stack.StackConfig, deployed: dict[str, Any], alarms: list[dict[str, Any]]
) -> None:
    topic = deployed["observability"]["alarm_topic_arn"]
    attributes = stack.aws_client(local_stack, "sns").get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == deployed["kms_key_arn"]
    assert alarms and all(topic in a["AlarmActions"] and topic in a["OKActions"] for a in alarms), [
        a["AlarmName"] for a in alarms if topic not in a["AlarmActions"]
    ]
    assert set(deployed["observability"]["alarm_names"]) <= {a["AlarmName"] for a in alarms}


def test_every_deployed_function_and_queue_is_watched(
    local_stack: stack.StackConfig, deployed: dict[str, Any], alarms: list[dict[str, Any]]
) -> None:
    functions = {
        f["FunctionName"]
        for p in stack.aws_client(local_stack, "lambda").get_paginator("list_functions").paginate()
        for f in p["Functions"]
    }
    watched: dict[str, set[str]] = {}
    for alarm in alarms:
        for dimension in alarm.get("Dimensions", []):
            watched.setdefault(dimension["Value"], set()).add(alarm["MetricName"])
    for function in functions:  # read from the emulator, not from the outputs
        assert {"Errors", "Throttles", "Duration"} <= watched.get(function, set()), (function, watched.get(function))
    queues = {u.rsplit("/", 1)[-1] for u in stack.aws_client(local_stack, "sqs").list_queues()["QueueUrls"]}
    queues = {q for q in queues if q.startswith("imgpipe-local-")}
    assert queues and all(
        watched.get(q, set()) & {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"} for q in queues
    ), {q: watched.get(q) for q in queues}

    dashboard = stack.aws_client(local_stack, "cloudwatch").get_dashboard(
        DashboardName=deployed["observability"]["dashboard_name"]
    )
    drawn = json.loads(dashboard["DashboardBody"])["widgets"][3]["properties"]["metrics"]
    assert {m[3] for m in drawn} == queues


def test_every_deployed_function_traces_actively_through_powertools(local_stack: stack.StackConfig) -> None:
    from tests.conftest import REPO_ROOT

    client = stack.aws_client(local_stack, "lambda")
    functions = [f for p in client.get_paginator("list_functions").paginate() for f in p["Functions"]]
    assert functions and all(f["TracingConfig"]["Mode"] == "Active" for f in functions), [
        (f["FunctionName"], f.get("TracingConfig")) for f in functions
    ]
    # and the code behind each sends its segments through Powertools Tracer, set up once in imgpipe.runtime
    runtime = (REPO_ROOT / "shared" / "imgpipe" / "runtime.py").read_text()
    assert "Tracer(service=" in runtime and "self.tracer.capture_lambda_handler" in runtime
    assert "aws_xray_sdk" not in runtime  # the SDK (maintenance mode) stays behind Powertools
    for function in functions:
        source = (
            REPO_ROOT / "lambdas" / function["FunctionName"].removeprefix("imgpipe-local-") / "handler.py"
        ).read_text()
        assert "FunctionRuntime.for_service(" in source and "@fn.handler(" in source, function["FunctionName"]
        assert "aws_xray_sdk" not in source
