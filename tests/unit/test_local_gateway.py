"""Local gateway logic without an emulator: route discovery from API Gateway's own description, matching,
authorizer outcomes and proxy responses. (tests/integration/test_local_api.py serves the deployed API.)"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from scripts.local import stack
from scripts.local.gateway import (
    Authorizer,
    Gateway,
    GatewayResponses,
    Throttle,
    discover_gateway_responses,
    discover_routes,
    discover_throttling,
    function_name_from_uri,
    template_pattern,
)
from scripts.local.lambda_host import FunctionHost, GatewayError

UPLOAD_URI = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-local-upload_api/invocations"
)
AUTH_URI = UPLOAD_URI.replace("upload_api", "api_authorizer")


class FakeApiGateway:
    """Answers like the emulator's API Gateway did (shapes captured from moto server)."""

    def get_authorizers(self, restApiId: str) -> dict[str, Any]:
        return {
            "items": [
                {
                    "id": "a1",
                    "type": "REQUEST",
                    "authorizerUri": AUTH_URI,
                    "identitySource": "method.request.header.x-api-key",
                }
            ]
        }

    def get_resources(self, restApiId: str, embed: list[str], limit: int) -> dict[str, Any]:
        def method(auth: str = "CUSTOM", kind: str = "AWS_PROXY") -> dict[str, Any]:
            return {
                "authorizationType": auth,
                "authorizerId": "a1",
                "methodIntegration": {"type": kind, "uri": UPLOAD_URI},
            }

        return {
            "items": [
                {"id": "r0", "path": "/"},
                {
                    "id": "r1",
                    "path": "/v1/images",
                    "resourceMethods": {"GET": method(), "PUT": method(), "OPTIONS": method("NONE", "MOCK")},
                },
                {"id": "r2", "path": "/v1/images/{image_id}", "resourceMethods": {"GET": method()}},
                {"id": "r3", "path": "/v1/uploads", "resourceMethods": {"POST": method()}},
            ]
        }

    def get_gateway_responses(self, restApiId: str) -> dict[str, Any]:
        # As terraform/modules/ingest_api deploys them (statusCode absent where the module leaves it null).
        def template(code: str, message: str = "$context.error.messageString") -> dict[str, str]:
            return {
                "application/json": '{"error": {"code": "'
                + code
                + '", "message": '
                + message
                + ', "request_id": "$context.requestId"}}'
            }

        configured = {
            "UNAUTHORIZED": ("401", template("unauthorized")),
            "ACCESS_DENIED": ("403", template("forbidden")),
            "MISSING_AUTHENTICATION_TOKEN": ("404", template("not_found", '"no such route"')),
            "THROTTLED": ("429", template("throttled")),
            "REQUEST_TOO_LARGE": ("413", template("too_large")),
            "DEFAULT_4XX": (None, template("bad_request")),
            "DEFAULT_5XX": (None, template("internal_error")),
        }
        return {
            "items": [
                {"responseType": t, "responseTemplates": tpl, **({"statusCode": st} if st else {})}
                for t, (st, tpl) in configured.items()
            ]
        }


class RecordingHost(FunctionHost):
    def __init__(self, authorizer_result: Any) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.authorizer_result = authorizer_result

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        self.calls.append((name, event))
        if name.endswith("api_authorizer"):
            if isinstance(self.authorizer_result, Exception):
                raise self.authorizer_result
            return self.authorizer_result
        return {
            "statusCode": 201,
            "multiValueHeaders": {"Content-Type": ["application/json"]},
            "body": json.dumps({"seen": event["pathParameters"], "b64": event["isBase64Encoded"]}),
        }


ALLOW = {
    "principalId": "team-a",
    "context": {"key_id": "team-a", "owner": "Team A"},
    "policyDocument": {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ["*"]}]},
}


RESPONSES = discover_gateway_responses(FakeApiGateway(), "api1")


def gateway(authorizer_result: Any = ALLOW) -> tuple[Gateway, RecordingHost]:
    host = RecordingHost(authorizer_result)
    return Gateway(discover_routes(FakeApiGateway(), "api1"), host, "live", ["image/*"], responses=RESPONSES), host


def test_routes_come_from_the_deployed_api_and_skip_mock_methods() -> None:
    routes = discover_routes(FakeApiGateway(), "api1")
    assert {(r.method, r.resource) for r in routes} == {
        ("GET", "/v1/images"),
        ("PUT", "/v1/images"),
        ("GET", "/v1/images/{image_id}"),
        ("POST", "/v1/uploads"),
    }
    assert all(r.function_name == "imgpipe-local-upload_api" for r in routes)
    assert all(r.authorizer == Authorizer("imgpipe-local-api_authorizer", ("x-api-key",)) for r in routes)


def test_function_names_and_templates() -> None:
    assert function_name_from_uri(UPLOAD_URI) == "imgpipe-local-upload_api"
    assert function_name_from_uri(UPLOAD_URI.replace("upload_api/", "upload_api:live/")) == "imgpipe-local-upload_api"
    with pytest.raises(GatewayError):
        function_name_from_uri("https://example.com/backend")
    assert template_pattern("/v1/images/{image_id}").fullmatch("/v1/images/abc")
    assert not template_pattern("/v1/images/{image_id}").fullmatch("/v1/images/a/b")


def test_allowed_request_reaches_the_function_with_authorizer_context_and_binary_body() -> None:
    gw, host = gateway()
    reply = gw.handle(
        "PUT", "/live/v1/images?filename=a.png", {"x-api-key": ["k"], "Content-Type": ["image/png"]}, b"\x89PNG"
    )
    assert reply.status == 201
    name, event = host.calls[-1]
    assert name == "imgpipe-local-upload_api"
    assert event["requestContext"]["authorizer"] == {"key_id": "team-a", "owner": "Team A", "principalId": "team-a"}
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == b"\x89PNG"
    assert event["queryStringParameters"] == {"filename": "a.png"}
    assert host.calls[0][1]["methodArn"].endswith("/live/PUT/v1/images")


def test_path_parameters_are_extracted() -> None:
    gw, _host = gateway()
    reply = gw.handle("GET", "/v1/images/abc-123", {"x-api-key": ["k"]}, b"")
    assert json.loads(reply.body)["seen"] == {"image_id": "abc-123"}


@pytest.mark.parametrize(
    ("headers", "authorizer_result", "status", "code"),
    [
        ({}, ALLOW, 401, "unauthorized"),  # identity source missing: the authorizer is not even called
        ({"x-api-key": ["bad"]}, Exception("Unauthorized"), 401, "unauthorized"),
        ({"x-api-key": ["old"]}, {**ALLOW, "policyDocument": {"Statement": [{"Effect": "Deny"}]}}, 403, "forbidden"),
        ({"x-api-key": ["k"]}, RuntimeError("boom"), 500, "internal_error"),
    ],
)
def test_authorizer_outcomes(headers: dict[str, list[str]], authorizer_result: Any, status: int, code: str) -> None:
    gw, host = gateway(authorizer_result)
    reply = gw.handle("GET", "/v1/images", headers, b"")
    body = json.loads(reply.body)
    assert (reply.status, body["error"]["code"]) == (status, code)
    assert body["error"]["request_id"]
    assert not [c for c in host.calls if c[0].endswith("upload_api")]


@pytest.mark.parametrize(("method", "path"), [("GET", "/v2/nothing"), ("DELETE", "/v1/images"), ("GET", "/")])
def test_unknown_routes_and_methods_answer_the_deployed_missing_route_response(method: str, path: str) -> None:
    gw, host = gateway()
    reply = gw.handle(method, path, {"x-api-key": ["k"]}, b"")
    body = json.loads(reply.body)
    assert (reply.status, body["error"]["code"], body["error"]["message"]) == (404, "not_found", "no such route")
    assert body["error"]["request_id"] and not host.calls


def test_without_configured_responses_the_gateway_answers_as_api_gateway_does_by_default() -> None:
    host = RecordingHost(ALLOW)
    gw = Gateway(discover_routes(FakeApiGateway(), "api1"), host, "live", ["image/*"])
    unknown, missing = gw.handle("GET", "/v2/x", {}, b""), gw.handle("GET", "/v1/images", {}, b"")
    assert (unknown.status, json.loads(unknown.body)) == (403, {"message": "Missing Authentication Token"})
    assert (missing.status, json.loads(missing.body)) == (401, {"message": "Unauthorized"})


def test_a_type_without_its_own_template_takes_the_family_default_with_its_own_status() -> None:
    responses = GatewayResponses(
        {"DEFAULT_4XX": (None, '{"m": $context.error.messageString, "id": "$context.requestId"}')}
    )
    reply = responses.reply("THROTTLED", "req-1")
    assert (reply.status, json.loads(reply.body)) == (429, {"m": "Too Many Requests", "id": "req-1"})


def test_bodies_over_ten_megabytes_are_refused_before_any_function_runs() -> None:
    gw, host = gateway()
    reply = gw.handle("PUT", "/v1/images", {"x-api-key": ["k"]}, b"x" * (10 * 1024 * 1024 + 1))
    assert reply.status == 413 and not host.calls


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttled_gateway(throttling: dict[str, Throttle]) -> tuple[Gateway, RecordingHost, FakeClock]:
    host, clock = RecordingHost(ALLOW), FakeClock()
    routes = discover_routes(FakeApiGateway(), "api1")
    return (
        Gateway(routes, host, "live", ["image/*"], throttling=throttling, clock=clock, responses=RESPONSES),
        host,
        clock,
    )


def test_stage_throttling_allows_the_burst_then_answers_429_before_the_authorizer_runs() -> None:
    gw, host, clock = throttled_gateway({"*/*": Throttle(rate_per_second=2, burst=3)})
    statuses = [gw.handle("GET", "/v1/images", {"x-api-key": ["k"]}, b"").status for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert len(host.calls) == 6  # three authorizer + three function calls; the throttled request reached neither
    body = json.loads(gw.handle("GET", "/v1/images", {"x-api-key": ["k"]}, b"").body)
    assert body["error"]["code"] == "throttled" and body["error"]["request_id"]
    clock.now += 0.5  # 2 tokens/s refill one token in half a second
    assert gw.handle("GET", "/v1/images", {"x-api-key": ["k"]}, b"").status == 201
    assert gw.handle("GET", "/v1/images", {"x-api-key": ["k"]}, b"").status == 429


def test_each_method_has_its_own_bucket_and_method_settings_override_the_stage_default() -> None:
    gw, _, _ = throttled_gateway({"*/*": Throttle(100, 1), "v1~1uploads/POST": Throttle(100, 2)})

    def call(method: str, path: str) -> int:
        return gw.handle(method, path, {"x-api-key": ["k"]}, b"{}").status

    assert [call("GET", "/v1/images"), call("GET", "/v1/images")] == [201, 429]
    assert call("GET", "/v1/images/abc") == 201  # another method: another bucket
    assert [call("POST", "/v1/uploads") for _ in range(3)] == [201, 201, 429]


def test_unthrottled_stage_never_answers_429() -> None:
    gw, _, _ = throttled_gateway({})
    assert {gw.handle("GET", "/v1/images", {"x-api-key": ["k"]}, b"").status for _ in range(200)} == {201}


def test_throttling_is_read_from_the_stage_method_settings() -> None:
    class Stage:
        def get_stage(self, restApiId: str, stageName: str) -> dict[str, Any]:
            assert (restApiId, stageName) == ("api1", "live")
            return {
                "methodSettings": {
                    "*/*": {"throttlingBurstLimit": 100, "throttlingRateLimit": 50.0, "metricsEnabled": True},
                    "v1~1images/PUT": {"metricsEnabled": True},  # no throttling of its own
                }
            }

    assert discover_throttling(Stage(), "api1", "live") == {"*/*": Throttle(50.0, 100)}


class DeployedLambda:
    """The two calls FunctionHost makes of the emulator's Lambda, for one deployed function."""

    def __init__(self, timeout: int) -> None:
        self.timeout = timeout

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:{FunctionName}"
        return {"FunctionArn": arn, "Handler": "handler.handler", "MemorySize": 256, "Timeout": self.timeout}

    def list_tags(self, Resource: str) -> dict[str, Any]:
        return {"Tags": {"imgpipe:function": "clock"}}

    def get_function_concurrency(self, FunctionName: str) -> dict[str, Any]:
        return {}


def test_the_local_host_counts_the_deployed_timeout_down_as_lambda_does(tmp_path: Path) -> None:
    """A function that budgets its work by the time left (the processor) sees its deployed timeout locally."""
    (tmp_path / "clock").mkdir()
    (tmp_path / "clock" / "handler.py").write_text(
        "import time\n"
        "def handler(event, context):\n"
        "    before = context.get_remaining_time_in_millis()\n"
        "    time.sleep(event['sleep'])\n"
        "    return [before, context.get_remaining_time_in_millis(), context.memory_limit_in_mb]\n"
    )
    host = FunctionHost(DeployedLambda(timeout=7), stack.StackConfig(run_dir=tmp_path), functions_dir=tmp_path)
    before, after, memory = host.invoke("imgpipe-local-clock", {"sleep": 0.3})
    assert 6_500 < before <= 7_000 and before - after >= 300 and memory == 256
    again, _, _ = host.invoke("imgpipe-local-clock", {"sleep": 0})
    assert again > after  # each invocation has its own clock
