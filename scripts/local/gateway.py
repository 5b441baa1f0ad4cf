"""Local API gateway: serves the REST API that Terraform deployed into the emulator, on 127.0.0.1.

    python -m scripts.local.gateway serve --port 8080     (started in the background by `make up`)

Nothing here is a second route table. Routes, methods, the authorizer and its identity source, the integration
targets and the stage's throttling (token buckets, 429) are read back from the emulator's API Gateway; each
target function's handler, settings (environment) and source folder (its `imgpipe:function` tag) from the
emulator's Lambda. Requests become API Gateway REST proxy events (scripts/local/events.py) and run in the
functions' own execution environments (scripts/local/lambda_host.py), authorizer first, as API Gateway would;
concurrent requests run concurrently, up to each function's concurrency.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scripts.cli import CliError, command
from scripts.local import outputs as deployed
from scripts.local import stack
from scripts.local.config import LOCAL_REGION
from scripts.local.events import api_gateway_proxy_event
from scripts.local.lambda_host import FunctionHost, GatewayError, Throttled
from scripts.local.site import LocalSite

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's own request limit
# API Gateway's REST quota on the request line and headers together (10,240 bytes); a longer request line is
# refused before anything runs. http.server's own line limit (64 KiB) is far above it.
MAX_REQUEST_LINE_BYTES = 10_240
_FUNCTION_IN_URI = re.compile(r"functions/(arn:[^/]+)/invocations")


@dataclass(frozen=True)
class Authorizer:
    function_name: str
    identity_headers: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # API Gateway path template, e.g. /v1/images/{image_id}
    function_name: str
    authorizer: Authorizer | None
    pattern: re.Pattern[str] = field(compare=False)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def function_name_from_uri(uri: str) -> str:
    found = _FUNCTION_IN_URI.search(uri)
    if not found:
        raise GatewayError(f"integration URI names no Lambda function: {uri}")
    arn = found.group(1)
    return arn.split(":function:", 1)[1].split(":", 1)[0]


def template_pattern(resource: str) -> re.Pattern[str]:
    parts = []
    for segment in resource.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts))


def discover_routes(apigw: Any, rest_api_id: str) -> list[Route]:
    authorizers = {}
    for item in apigw.get_authorizers(restApiId=rest_api_id).get("items", []):
        headers = tuple(
            source.split("method.request.header.", 1)[1].lower()
            for source in item.get("identitySource", "").split(",")
            if source.strip().startswith("method.request.header.")
        )
        authorizers[item["id"]] = Authorizer(function_name_from_uri(item["authorizerUri"]), headers)
    routes = []
    for resource in apigw.get_resources(restApiId=rest_api_id, embed=["methods"], limit=500).get("items", []):
        for method, spec in resource.get("resourceMethods", {}).items():
            integration = spec.get("methodIntegration", {})
            if integration.get("type") != "AWS_PROXY":
                continue  # e.g. CORS MOCK methods: nothing of ours runs there
            authorizer = None
            if spec.get("authorizationType") == "CUSTOM":
                authorizer = authorizers.get(spec.get("authorizerId", ""))
                if authorizer is None:
                    raise GatewayError(f"{method} {resource['path']} names an unknown authorizer")
            elif spec.get("authorizationType") != "NONE":
                raise GatewayError(
                    f"{method} {resource['path']}: authorization {spec.get('authorizationType')} is not served locally"
                )
            routes.append(
                Route(
                    method,
                    resource["path"],
                    function_name_from_uri(integration["uri"]),
                    authorizer,
                    template_pattern(resource["path"]),
                )
            )
    if not routes:
        raise GatewayError(f"REST API {rest_api_id} has no Lambda proxy routes")
    # Literal segments win over parameters, as in API Gateway.
    return sorted(routes, key=lambda r: (r.resource.count("{"), -len(r.resource)))


@dataclass(frozen=True)
class Throttle:
    rate_per_second: float
    burst: int


def method_settings_key(method: str, resource: str) -> str:
    """API Gateway's key for one method in a stage's methodSettings: "v1~1images/GET" ("/" escaped as ~1)."""
    return f"{resource.lstrip('/').replace('/', '~1')}/{method.upper()}"


def discover_throttling(apigw: Any, rest_api_id: str, stage: str) -> dict[str, Throttle]:
    """The stage's throttling per methodSettings key ("*/*" = every method without its own settings)."""
    settings = apigw.get_stage(restApiId=rest_api_id, stageName=stage).get("methodSettings", {})
    return {
        key: Throttle(float(value["throttlingRateLimit"]), int(value["throttlingBurstLimit"]))
        for key, value in settings.items()
        if "throttlingRateLimit" in value and "throttlingBurstLimit" in value
    }


class TokenBucket:
    """API Gateway's throttling algorithm: `burst` tokens, refilled at `rate_per_second`, one per request."""

    def __init__(self, limits: Throttle, clock: Callable[[], float]) -> None:
        self._limits = limits
        self._clock = clock
        self._tokens = float(limits.burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(
                float(self._limits.burst), self._tokens + (now - self._at) * self._limits.rate_per_second
            )
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, list[str]]
    body: bytes


def error_reply(status: int, code: str, message: str, request_id: str) -> Reply:
    body = json.dumps({"error": {"code": code, "message": message, "request_id": request_id}}).encode()
    return Reply(status, {"Content-Type": ["application/json"]}, body)


# The gateway response types this gateway produces: API Gateway's default status and messageString for each.
RESPONSE_DEFAULTS: dict[str, tuple[int, str]] = {
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "THROTTLED": (429, "Too Many Requests"),
    "AUTHORIZER_FAILURE": (500, "Authorizer error"),
    "DEFAULT_5XX": (502, "Internal server error"),  # a function that fails or answers no proxy response
    # A throttled function: API Gateway maps Lambda's 429 to this type, whose documented default is 504.
    "INTEGRATION_FAILURE": (504, "Internal server error"),
}


@dataclass(frozen=True)
class GatewayResponses:
    """The API's gateway responses as deployed (type -> (status or None, application/json template)), rendered
    as API Gateway renders them: the type's own, else DEFAULT_4XX/5XX's template with the type's status, else
    API Gateway's built-in {"message": ...}. Templates are the two-variable subset this API's use."""

    configured: dict[str, tuple[int | None, str | None]] = field(default_factory=dict)

    def reply(self, response_type: str, request_id: str) -> Reply:
        default_status, message = RESPONSE_DEFAULTS[response_type]
        status, template = self.configured.get(response_type, (None, None))
        if template is None:
            family_status, template = self.configured.get(
                "DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX", (None, None)
            )
            status = status or family_status
        status = status or default_status
        if template is None:
            body = json.dumps({"message": message})
        else:
            body = template.replace("$context.error.messageString", json.dumps(message))
            body = body.replace("$context.requestId", request_id)
        return Reply(status, {"Content-Type": ["application/json"], "x-amzn-ErrorType": [response_type]}, body.encode())


def discover_gateway_responses(apigw: Any, rest_api_id: str) -> GatewayResponses:
    configured: dict[str, tuple[int | None, str | None]] = {}
    for item in apigw.get_gateway_responses(restApiId=rest_api_id).get("items", []):
        status = item.get("statusCode")
        template = (item.get("responseTemplates") or {}).get("application/json")
        configured[item["responseType"]] = (int(status) if status else None, template)
    return GatewayResponses(configured)


class Gateway:
    def __init__(
        self,
        routes: list[Route],
        host: FunctionHost,
        stage: str,
        binary_media_types: list[str],
        region: str = LOCAL_REGION,
        account: str = "123456789012",
        api_id: str = "local",
        throttling: dict[str, Throttle] | None = None,
        clock: Callable[[], float] = time.monotonic,
        responses: GatewayResponses | None = None,
        site: LocalSite | None = None,
    ):
        self.routes = routes
        self.site = site  # the web app's files, config and sign-in relay; None: the API alone
        self.responses = responses or GatewayResponses()
        self._host = host
        self._stage = stage
        self._binary = [t.lower() for t in binary_media_types]
        self._arn_prefix = f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}"
        # One bucket per method, as API Gateway applies stage/method throttling per method.
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        throttling = throttling or {}
        for route in routes:
            limits = throttling.get(method_settings_key(route.method, route.resource)) or throttling.get("*/*")
            if limits is not None:
                self._buckets[(route.method, route.resource)] = TokenBucket(limits, clock)

    def _is_binary(self, content_type: str) -> bool:
        mime = content_type.split(";", 1)[0].strip().lower()
        return any(mime == t or (t.endswith("/*") and mime.startswith(t[:-1])) for t in self._binary)

    def handle(self, method: str, raw_path: str, headers: dict[str, list[str]], body: bytes) -> Reply:
        request_id = str(uuid.uuid4())
        split = urlsplit(raw_path)
        path = split.path
        if path.startswith(f"/{self._stage}/"):  # accept the invoke-URL form /<stage>/v1/... too
            path = path[len(self._stage) + 1 :]
        if len(body) > MAX_PAYLOAD_BYTES:
            return self.responses.reply("REQUEST_TOO_LARGE", request_id)
        page = self.site.handle(method.upper(), split.path, headers, body) if self.site else None
        if page is not None:  # only the app's own paths; everything else is the API's, as deployed
            return Reply(page.status, {k: [v] for k, v in page.headers.items()}, page.body)
        candidates = [(r, params) for r in self.routes if (params := r.match(path)) is not None]
        route_params = next(((r, p) for r, p in candidates if r.method == method.upper()), None)
        if route_params is None:
            # A REST API answers a path or method it does not have as MISSING_AUTHENTICATION_TOKEN.
            return self.responses.reply("MISSING_AUTHENTICATION_TOKEN", request_id)
        route, params = route_params
        bucket = self._buckets.get((route.method, route.resource))
        if bucket is not None and not bucket.take():  # before the authorizer runs, as on AWS
            return self.responses.reply("THROTTLED", request_id)
        lower = {k.lower(): v for k, v in headers.items()}
        query = {k: v for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        context: dict[str, Any] | None = None
        if route.authorizer is not None:
            outcome = self._authorize(route, path, params, lower, query, request_id)
            if isinstance(outcome, Reply):
                return outcome
            context = outcome
        binary = self._is_binary(lower.get("content-type", [""])[-1])
        event = api_gateway_proxy_event(
            method,
            path,
            resource=route.resource,
            path_parameters=params,
            query=query,
            headers=headers,
            body=body if body else None,
            binary=binary,
            authorizer=context,
            stage=self._stage,
        )
        event["requestContext"]["requestId"] = request_id
        try:
            result = self._host.invoke(route.function_name, event)
        except Throttled as err:
            print(f"local-gateway: {err!r}", file=sys.stderr, flush=True)
            return self.responses.reply("INTEGRATION_FAILURE", request_id)
        except Exception as err:
            print(f"local-gateway: {route.function_name} raised {err!r}", file=sys.stderr, flush=True)
            return self.responses.reply("DEFAULT_5XX", request_id)
        return self._proxy_reply(result, request_id)

    def _authorize(
        self,
        route: Route,
        path: str,
        params: dict[str, str],
        headers: dict[str, list[str]],
        query: dict[str, list[str]],
        request_id: str,
    ) -> dict[str, Any] | Reply:
        assert route.authorizer is not None
        if any(not headers.get(h) for h in route.authorizer.identity_headers):
            return self.responses.reply("UNAUTHORIZED", request_id)  # API Gateway skips the call
        event = {
            "type": "REQUEST",
            "methodArn": f"{self._arn_prefix}/{route.method}{path}",
            "resource": route.resource,
            "path": path,
            "httpMethod": route.method,
            "headers": {k: v[-1] for k, v in headers.items()},
            "multiValueHeaders": headers,
            "queryStringParameters": {k: v[-1] for k, v in query.items()},
            "multiValueQueryStringParameters": query,
            "pathParameters": params,
            "stageVariables": {},
            "requestContext": {
                "stage": self._stage,
                "requestId": request_id,
                "httpMethod": route.method,
                "resourcePath": route.resource,
                "path": f"/{self._stage}{path}",
            },
        }
        try:
            policy = self._host.invoke(route.authorizer.function_name, event)
        except Throttled as err:
            print(f"local-gateway: {err!r}", file=sys.stderr, flush=True)
            return self.responses.reply("AUTHORIZER_FAILURE", request_id)  # the authorizer could not run
        except Exception as err:
            if str(err) == "Unauthorized":
                return self.responses.reply("UNAUTHORIZED", request_id)
            print(f"local-gateway: authorizer raised {err!r}", file=sys.stderr, flush=True)
            return self.responses.reply("AUTHORIZER_FAILURE", request_id)
        statements = policy.get("policyDocument", {}).get("Statement", [])
        if not statements or any(s.get("Effect") != "Allow" for s in statements):
            return self.responses.reply("ACCESS_DENIED", request_id)
        return {**(policy.get("context") or {}), "principalId": policy.get("principalId")}

    def _proxy_reply(self, result: Any, request_id: str) -> Reply:
        if not isinstance(result, dict) or "statusCode" not in result:
            return self.responses.reply("DEFAULT_5XX", request_id)  # AWS: 502 "Internal server error"
        headers = {k: [str(v)] for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key] = [str(v) for v in values]
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        headers["x-amzn-RequestId"] = [request_id]
        return Reply(int(result["statusCode"]), headers, body)


def build(
    cfg: stack.StackConfig,
    outputs: dict[str, Any],
    clock: Callable[[], float] = time.monotonic,
    host: FunctionHost | None = None,
) -> Gateway:
    """host: the function host to run in, shared with a worker in the same process (see worker.build)."""
    apigw = stack.aws_client(cfg, "apigateway")
    routes = discover_routes(apigw, str(outputs["rest_api_id"]))
    responses = discover_gateway_responses(apigw, str(outputs["rest_api_id"]))
    host = host or FunctionHost(stack.aws_client(cfg, "lambda"), cfg)
    return Gateway(
        routes,
        host,
        str(outputs["api_stage_name"]),
        list(outputs.get("api_binary_media_types") or []),
        region=str(outputs.get("region", LOCAL_REGION)),
        api_id=str(outputs["rest_api_id"]),
        throttling=discover_throttling(apigw, str(outputs["rest_api_id"]), str(outputs["api_stage_name"])),
        clock=clock,
        responses=responses,
        site=LocalSite.from_outputs(outputs, cfg.aws_endpoint),
    )


def make_server(gateway: Gateway, port: int) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1:port (0 picks a free port) answering through `gateway`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def parse_request(self) -> bool:
            if not super().parse_request():
                return False
            if (
                len(getattr(self, "raw_requestline", b"")) > MAX_REQUEST_LINE_BYTES
            ):  # over API Gateway's quota; body left unread
                self.send_error(414)
                return False
            return True

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # http.server's own refusals (request line or headers too long, malformed, unknown method) in the
            # API's error shape rather than an HTML page; the connection closes as http.server would close it.
            self.close_connection = True
            phrase = message or (self.responses.get(code, ("Error",))[0])
            codes = {414: "uri_too_long", 431: "headers_too_large", 501: "not_implemented"}
            self._send(error_reply(code, codes.get(code, "bad_request"), phrase, str(uuid.uuid4())))

        def _respond(self) -> None:
            # Every request gets an answer with a status, as from API Gateway: never a dropped connection.
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                reply = error_reply(400, "bad_request", "Invalid Content-Length", str(uuid.uuid4()))
                self.close_connection = True
            elif length > MAX_PAYLOAD_BYTES:
                reply = gateway.responses.reply("REQUEST_TOO_LARGE", str(uuid.uuid4()))
                self.close_connection = True
            else:
                headers: dict[str, list[str]] = {}
                for key, value in self.headers.items():
                    headers.setdefault(key, []).append(value)
                try:
                    reply = gateway.handle(self.command, self.path, headers, self.rfile.read(length) if length else b"")
                except Exception as err:
                    print(
                        f"local-gateway: {self.command} {self.path[:200]} failed: {err!r}", file=sys.stderr, flush=True
                    )
                    reply = gateway.responses.reply("DEFAULT_5XX", str(uuid.uuid4()))
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for key, values in reply.headers.items():
                for value in values:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _respond

        def log_message(self, format: str, *args: Any) -> None:
            # Also called for requests refused before command and path were parsed (then they are unset).
            command, path = getattr(self, "command", None) or "-", (getattr(self, "path", None) or "-")[:200]
            outcome = args[1] if format.startswith('"%s"') and len(args) > 1 else format % args  # status, or why
            print(f"local-gateway: {command} {path} -> {outcome}", flush=True)

    # One thread per connection: HTTP/1.1 clients keep connections open, and a single-threaded server would wait
    # on an idle one while the next request queues behind it; requests run side by side, as on AWS.
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def serve(gateway: Gateway, port: int) -> None:
    server = make_server(gateway, port)
    app = f" and the web app at http://127.0.0.1:{port}/" if gateway.site else ""
    print(f"local-gateway: serving {len(gateway.routes)} routes{app} on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


@command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.local.gateway", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["serve", "routes"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("IMGPIPE_API_PORT", "8080")))
    args = parser.parse_args(argv)
    cfg = stack.StackConfig.from_env()
    try:
        gateway = build(cfg, deployed.read(cfg))
    except (GatewayError, stack.StackError, KeyError) as err:
        raise CliError(f"cannot serve the local API: {err}") from err
    if args.command == "routes":
        for route in gateway.routes:
            auth = f"authorizer {route.authorizer.function_name}" if route.authorizer else "no auth"
            print(f"{route.method:<7} {route.resource:<28} -> {route.function_name} ({auth})")
        return 0
    started = time.time()
    try:
        serve(gateway, args.port)
    except KeyboardInterrupt:
        print(f"local-gateway: stopped after {time.time() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
