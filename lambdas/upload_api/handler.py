"""upload_api: the HTTP ingestion API behind API Gateway (REST). Thin: parse → imgpipe.uploads → response.

Routes: POST /v1/uploads, PUT /v1/images, GET /v1/images/{image_id}, GET /v1/images. The caller was
authenticated by the API's Lambda authorizer, whose context names the API key (key_id); requests without it
never reach this code on AWS, and are refused here as well so a misconfigured route fails closed.

PUT /v1/images honours an Idempotency-Key header (Powertools idempotency, DynamoDB): a retry with the same key
and the same bytes replays the first answer instead of storing the image twice; the same key with other bytes
is refused (422), and a retry while the first request still runs gets 409.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgpipe import config, idempotency
from imgpipe.adapters import environment
from imgpipe.adapters.mac import KmsMac
from imgpipe.adapters.quota_ledger import QuotaLedger
from imgpipe.adapters.s3_client import s3_client
from imgpipe.auth import Principal, is_tenant_id
from imgpipe.cursors import CursorCodec
from imgpipe.quotas import QuotaExceeded, QuotaPolicy
from imgpipe.runtime import FunctionRuntime
from imgpipe.uploads import ApiError, UploadService, UploadSettings

UPLOAD_ROUTES = {("POST", "/v1/uploads"), ("PUT", "/v1/images")}  # refusals counted as UploadsRejected
IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII: safe to hash, log and compare


def cors() -> CORSConfig | None:
    """CORS headers on every answer when the API was deployed with allowed origins; none otherwise."""
    origins = [o.strip() for o in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",") if o.strip()]
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],  # Powertools echoes the request's Origin only when it is one of these
        allow_headers=["x-api-key", "Authorization", IDEMPOTENCY_HEADER],
        expose_headers=["Idempotent-Replayed", "Retry-After"],
        max_age=600,
    )


fn = FunctionRuntime.for_service("upload_api")
logger, metrics, tracer = fn.logger, fn.metrics, fn.tracer
app = APIGatewayRestResolver(cors=cors())


@cache
def quotas() -> QuotaLedger:
    """Counters in the API's state table (the idempotency table); QUOTAS as Terraform wrote it, checked now."""
    return QuotaLedger(
        environment.dynamodb(), config.required("IDEMPOTENCY_TABLE"), QuotaPolicy.from_json(config.optional("QUOTAS"))
    )


@cache
def service() -> UploadService:
    s3 = s3_client()
    settings = UploadSettings(
        raw_prefix=config.required("RAW_PREFIX"),
        max_upload_bytes=environment.max_upload_bytes(),
        retention_days=environment.retention_days(),
        presign_seconds=config.integer("PRESIGN_SECONDS", 300, 1, 900),
    )
    mac = KmsMac(boto3.client("kms"), config.required("CURSOR_KEY_ID"))
    return UploadService(
        environment.metadata_table(),
        environment.object_store("RAW_BUCKET", s3),
        settings,
        processed=environment.object_store("PROCESSED_BUCKET", s3),
        cursors=CursorCodec(mac.sign, mac.verify),
        quotas=quotas(),
        # Which image an Idempotency-Key stands for, written before the image: converges every retry.
        claims=environment.request_claims("api", idempotency_seconds()),
    )


def idempotency_seconds() -> int:
    return idempotency.seconds(3600, 86400)


@cache
def idempotency_config() -> IdempotencyConfig:
    # The caller's tenant is part of the key: one tenant's Idempotency-Key never replays another's answer.
    return idempotency.settings("[tenant_id, idempotency_key]", idempotency_seconds(), "body_sha256")


@cache
def idempotent_direct_upload() -> idempotency.Once[dict[str, Any]]:
    def upload(request: dict[str, str], data: bytes, content_type: str | None, filename: str | None) -> dict[str, Any]:
        return service().direct_upload(data, content_type, filename, principal(), request["idempotency_key"])

    return idempotency.Once(upload, idempotency_config(), data_keyword_argument="request")


def principal() -> Principal:
    """The caller as the authorizer established it; without a tenant the request reaches nothing (fail closed)."""
    context = app.current_event.request_context.authorizer.raw_event or {}
    key_id, owner, tenant_id = context.get("key_id"), context.get("owner"), context.get("tenant_id")
    if not key_id or not is_tenant_id(tenant_id):
        raise ApiError(401, "unauthorized", "Unauthorized")  # what API Gateway answers without credentials
    return Principal(str(key_id), str(owner or key_id), str(tenant_id), str(context.get("kind") or "api_key"))


def reply(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def follow(image_id: str) -> None:
    """From here on this request's lines are the image's: its id is the correlation id, as it is downstream
    (processor, Kafka ingest, export), and API Gateway's request id stays as request_id."""
    logger.append_keys(image_id=image_id, request_id=logger.get_correlation_id())
    logger.set_correlation_id(image_id)


def rate_limit(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Every request of a tenant counts against its requests per minute, before any route runs."""
    quotas().count_request(principal().tenant_id, datetime.now(UTC))
    return next_middleware(app)


app.use(middlewares=[rate_limit])


@app.post("/v1/uploads")
@tracer.capture_method
def request_upload() -> Response[str]:
    try:
        body = json.loads(app.current_event.body or "")
    except ValueError:
        raise ApiError(400, "invalid_json", "the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    result = service().request_upload(body, principal())
    follow(result["image_id"])
    logger.info("upload presigned", extra={"status": result["status"]})
    metrics.add_metric(name="UploadsPresigned", unit=MetricUnit.Count, value=1)
    return reply(201, result)


@app.put("/v1/images")
@tracer.capture_method
def direct_upload() -> Response[str]:
    event = app.current_event
    raw = event.body or ""
    try:
        data = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode("latin-1", "replace")
    except binascii.Error:
        raise ApiError(400, "invalid_body", "the body is marked base64 but is not valid base64") from None
    content_type = event.headers.get("content-type") or event.headers.get("Content-Type")
    filename = event.get_query_string_value("filename")
    idempotency_key = event.headers.get(IDEMPOTENCY_HEADER.lower()) or event.headers.get(IDEMPOTENCY_HEADER)
    replayed = False
    if idempotency_key is None:
        result = service().direct_upload(data, content_type, filename, principal())
    elif not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise ApiError(400, "invalid_request", f"{IDEMPOTENCY_HEADER} must be 1-255 visible ASCII characters")
    else:
        request = {
            "tenant_id": principal().tenant_id,
            "idempotency_key": idempotency_key,
            "body_sha256": hashlib.sha256(
                b"\0".join([data, (content_type or "").encode(), (filename or "").encode()])
            ).hexdigest(),
        }
        run = idempotent_direct_upload()(
            app.lambda_context, request=request, data=data, content_type=content_type, filename=filename
        )
        result, replayed = run.value, run.replayed
    follow(result["image_id"])
    logger.info("image stored", extra={"status": result["status"], "replayed": replayed})
    if replayed:
        return Response(
            status_code=201,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps(result),
            headers={"Idempotent-Replayed": "true"},
        )
    metrics.add_metric(name="UploadsAccepted", unit=MetricUnit.Count, value=1)
    return reply(201, result)


@app.get("/v1/images/<image_id>")
@tracer.capture_method
def get_image(image_id: str) -> Response[str]:
    caller = principal()
    follow(image_id)
    return reply(200, service().get_image(image_id, caller))


@app.get("/v1/images")
@tracer.capture_method
def list_images() -> Response[str]:
    caller = principal()
    q = app.current_event.get_query_string_value
    return reply(200, service().list_images(caller, q("status"), q("since"), q("limit"), q("next")))


@app.exception_handler(ApiError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def api_error(err: ApiError) -> Response[str]:
    event = app.current_event
    if (event.http_method, event.resource) in UPLOAD_ROUTES and 400 <= err.status < 500 and err.status != 401:
        metrics.add_dimension(name="reason", value=err.code)
        metrics.add_metric(name="UploadsRejected", unit=MetricUnit.Count, value=1)
    logger.info("request refused", extra={"status": err.status, "code": err.code})
    return error_response(err.status, err.code, err.message)


@app.exception_handler(QuotaExceeded)  # type: ignore[untyped-decorator]
def quota_exceeded(err: QuotaExceeded) -> Response[str]:
    logger.info("quota reached", extra={"code": err.code, "retry_after": err.retry_after_seconds})
    metrics.add_dimension(name="reason", value=err.code)
    metrics.add_metric(name="QuotaRefusals", unit=MetricUnit.Count, value=1)
    response = error_response(429, err.code, err.message)
    response.headers["Retry-After"] = str(err.retry_after_seconds)
    return response


@app.exception_handler(IdempotencyAlreadyInProgressError)  # type: ignore[untyped-decorator]
def idempotency_in_progress(_: Exception) -> Response[str]:
    return error_response(
        409, "idempotency_in_progress", f"a request with this {IDEMPOTENCY_HEADER} is still running; retry later"
    )


@app.exception_handler(IdempotencyValidationError)  # type: ignore[untyped-decorator]
def idempotency_key_reused(_: Exception) -> Response[str]:
    return error_response(
        422, "idempotency_key_reused", f"this {IDEMPOTENCY_HEADER} was already used for a different upload"
    )


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def unexpected(err: Exception) -> Response[str]:
    logger.exception("unhandled error")  # the stack trace goes to the log, never to the client
    return error_response(500, "internal_error", "the request could not be completed")


@app.not_found
def not_found(_: Exception) -> Response[str]:
    return error_response(404, "not_found", "no such route")


def error_response(status: int, code: str, message: str) -> Response[str]:
    request_id = app.current_event.request_context.request_id
    return reply(status, {"error": {"code": code, "message": message, "request_id": request_id}})


@fn.handler(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
