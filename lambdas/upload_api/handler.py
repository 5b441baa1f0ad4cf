"""upload_api: the HTTP ingestion API behind API Gateway (REST). Thin: the routes (imgpipe.routes: uploads,
images, errors) parse the request, call imgpipe.uploads and shape the answer; this module wires them.

Routes: POST /v1/uploads, PUT /v1/images, GET /v1/images/{image_id}, GET /v1/images, DELETE /v1/images/{image_id}.
The caller was
authenticated by the API's Lambda authorizer, whose context names the API key (key_id); requests without it
never reach this code on AWS, and are refused here as well so a misconfigured route fails closed.

PUT /v1/images honours an Idempotency-Key header (Powertools idempotency, DynamoDB): a retry with the same key
and the same bytes replays the first answer instead of storing the image twice; the same key with other bytes
is refused (422), and a retry while the first request still runs gets 409.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgpipe import config, idempotency
from imgpipe.adapters import environment
from imgpipe.adapters.mac import KmsMac
from imgpipe.adapters.quota_ledger import QuotaLedger
from imgpipe.adapters.s3_client import s3_client
from imgpipe.auth import Principal
from imgpipe.cursors import CursorCodec
from imgpipe.direct_upload import IDEMPOTENCY_HEADER, DirectUpload
from imgpipe.quotas import QuotaPolicy
from imgpipe.routes import errors, images, uploads
from imgpipe.routes.common import Api, principal
from imgpipe.runtime import FunctionRuntime

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from imgpipe.uploads import UploadService


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
    # The use cases (pydantic, the item model) with the first request, not at init.
    from imgpipe.uploads import UploadService, UploadSettings

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
    def upload(request: dict[str, str], upload: DirectUpload, caller: Principal) -> dict[str, Any]:
        key = request["idempotency_key"]
        return service().direct_upload(upload.data, upload.content_type, upload.filename, caller, key)

    return idempotency.Once(upload, idempotency_config(), data_keyword_argument="request")


def rate_limit(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Every request of a tenant counts against its requests per minute, before any route runs."""
    quotas().count_request(principal(app.current_event).tenant_id, datetime.now(UTC))
    return next_middleware(app)


# Through the module's names, looked up on each request: what a test replaces here, the routes use.
api = Api(fn, service=lambda: service(), direct_uploads=lambda: idempotent_direct_upload())
for module in (uploads, images, errors):
    app.include_router(module.router(api))
app.use(middlewares=[rate_limit])


@fn.handler(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
