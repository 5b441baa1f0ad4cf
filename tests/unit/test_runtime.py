"""imgpipe.runtime: the one decorator every handler wears — its order, the state it clears between
invocations, the correlation id, the library's lines and the metrics, observed through the logs and EMF."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.logging import correlation_paths

from imgpipe.runtime import NAMESPACE, FunctionRuntime
from scripts.local.lambda_host import LocalContext
from tests.emf import emitted_metrics


@pytest.fixture(autouse=True)
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "test")


def runtime(monkeypatch: pytest.MonkeyPatch, metrics: bool = True) -> tuple[FunctionRuntime, io.StringIO]:
    """A runtime for a service of its own (Powertools shares a logger between instances of one service)."""
    fn = FunctionRuntime.for_service(f"svc_{uuid.uuid4().hex[:8]}", metrics=metrics)
    log = io.StringIO()
    monkeypatch.setattr(fn.logger.registered_handler, "stream", log)
    return fn, log


def lines(log: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.getvalue().splitlines()]


def test_the_decorators_apply_in_the_documented_order(monkeypatch: pytest.MonkeyPatch) -> None:
    fn, _ = runtime(monkeypatch)
    entered: list[str] = []

    def spy(name: str, decorator: Callable[..., Any]) -> Callable[..., Any]:
        def wrap(handler: Callable[..., Any], **options: Any) -> Callable[..., Any]:
            inner = decorator(handler, **options)

            def run(*args: Any, **kwargs: Any) -> Any:
                entered.append(name)
                return inner(*args, **kwargs)

            return run

        return wrap

    monkeypatch.setattr(fn.logger, "inject_lambda_context", spy("logger", fn.logger.inject_lambda_context))
    monkeypatch.setattr(fn.tracer, "capture_lambda_handler", spy("tracer", fn.tracer.capture_lambda_handler))
    monkeypatch.setattr(fn.metrics, "log_metrics", spy("metrics", fn.metrics.log_metrics))

    @fn.handler()
    def handler(event: dict[str, Any], context: Any) -> str:
        entered.append("handler")
        return "done"

    assert handler({}, LocalContext("f")) == "done"
    assert entered == ["logger", "tracer", "metrics", "handler"]


def test_keys_of_one_invocation_do_not_reach_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    fn, log = runtime(monkeypatch)

    @fn.handler()
    def handler(event: dict[str, Any], context: Any) -> None:
        if event.get("image_id"):
            fn.logger.append_keys(image_id=event["image_id"])
            fn.logger.set_correlation_id(event["image_id"])
        fn.logger.info("handled")

    handler({"image_id": "img-1"}, LocalContext("f", aws_request_id="first"))
    handler({}, LocalContext("f", aws_request_id="second"))
    first, second = lines(log)
    assert (first["image_id"], first["correlation_id"], first["function_request_id"]) == ("img-1", "img-1", "first")
    assert "image_id" not in second and "correlation_id" not in second
    assert second["function_request_id"] == "second" and second["cold_start"] is False
    # which logger wrote a line survives the clearing: the function's own lines and the library's are told apart
    assert first["name"] == second["name"] == fn.service


def test_the_correlation_id_comes_from_the_event_when_a_path_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    fn, log = runtime(monkeypatch)

    @fn.handler(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    def handler(event: dict[str, Any], context: Any) -> None:
        fn.logger.info("request")

    handler({"requestContext": {"requestId": "req-7"}}, LocalContext("f"))
    assert lines(log)[0]["correlation_id"] == "req-7"


def test_library_lines_go_through_the_running_function(monkeypatch: pytest.MonkeyPatch) -> None:
    first, first_log = runtime(monkeypatch)
    _second, second_log = runtime(monkeypatch)
    # A module of the library imported after both functions were set up (a lazy import).
    library = logging.getLogger(f"imgpipe.lazy_{uuid.uuid4().hex[:8]}")

    @first.handler()
    def handler(event: dict[str, Any], context: Any) -> None:
        first.logger.set_correlation_id("img-9")
        library.info("from the library", extra={"outcome": "PROCESSED"})

    handler({}, LocalContext("f"))
    assert second_log.getvalue() == ""  # the function set up last does not take the first one's lines
    [line] = lines(first_log)
    assert (line["service"], line["name"], line["correlation_id"]) == (first.service, library.name, "img-9")
    assert line["outcome"] == "PROCESSED" and line["function_name"] == "f"


def test_metrics_are_flushed_in_the_namespace_with_the_service(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fn, _ = runtime(monkeypatch)

    @fn.handler()
    def handler(event: dict[str, Any], context: Any) -> None:
        fn.metrics.add_metric(name="Things", unit="Count", value=2)

    handler({}, LocalContext("f"))
    assert NAMESPACE == "imgpipe"
    assert emitted_metrics(capsys.readouterr().out) == [("Things", {"service": fn.service}, [2.0])]


def test_metrics_are_flushed_when_the_handler_raises(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fn, _ = runtime(monkeypatch)

    @fn.handler()
    def handler(event: dict[str, Any], context: Any) -> None:
        fn.metrics.add_metric(name="Attempts", unit="Count", value=1)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        handler({}, LocalContext("f"))
    assert [name for name, _, _ in emitted_metrics(capsys.readouterr().out)] == ["Attempts"]


def test_a_function_without_metrics_publishes_none(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fn, log = runtime(monkeypatch, metrics=False)

    @fn.handler()
    def handler(event: dict[str, Any], context: Any) -> str:
        fn.logger.info("allowed")
        return "ok"

    assert not fn.publish_metrics
    assert handler({}, LocalContext("f")) == "ok"
    assert '"_aws"' not in capsys.readouterr().out
    assert lines(log)[0]["message"] == "allowed"
