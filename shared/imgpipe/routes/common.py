"""What every route of upload_api shares: the function's parts (`Api`), the caller, and the JSON answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response, content_types

from imgpipe.api_error import ApiError
from imgpipe.auth import Principal, is_tenant_id

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

    from imgpipe.idempotency import Once
    from imgpipe.runtime import FunctionRuntime
    from imgpipe.uploads import UploadService


@dataclass(frozen=True)
class Api:
    """The function's parts the routes use. service and direct_uploads build (once) on first use."""

    fn: FunctionRuntime
    service: Callable[[], UploadService]
    direct_uploads: Callable[[], Once[dict[str, Any]]]


def principal(event: APIGatewayProxyEvent) -> Principal:
    """The caller as the authorizer established it; without a tenant the request reaches nothing (fail closed)."""
    context = event.request_context.authorizer.raw_event or {}
    key_id, owner, tenant_id = context.get("key_id"), context.get("owner"), context.get("tenant_id")
    if not key_id or not is_tenant_id(tenant_id):
        raise ApiError(401, "unauthorized", "Unauthorized")  # what API Gateway answers without credentials
    return Principal(str(key_id), str(owner or key_id), str(tenant_id), str(context.get("kind") or "api_key"))


def reply(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body), headers=headers
    )


def error_response(event: APIGatewayProxyEvent, status: int, code: str, message: str) -> Response[str]:
    request_id = event.request_context.request_id
    return reply(status, {"error": {"code": code, "message": message, "request_id": request_id}})


def follow(fn: FunctionRuntime, image_id: str) -> None:
    """From here on this request's lines are the image's: its id is the correlation id, as it is downstream
    (processor, Kafka ingest, export), and API Gateway's request id stays as request_id."""
    fn.logger.append_keys(image_id=image_id, request_id=fn.logger.get_correlation_id())
    fn.logger.set_correlation_id(image_id)
