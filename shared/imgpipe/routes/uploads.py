"""POST /v1/uploads (a presigned upload) and PUT /v1/images (a direct upload), each idempotent by key."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from imgpipe.api_error import ApiError
from imgpipe.direct_upload import IDEMPOTENCY_HEADER, DirectUpload, idempotency_key
from imgpipe.routes.common import Api, follow, principal, reply

ROUTES = {("POST", "/v1/uploads"), ("PUT", "/v1/images")}  # their refusals count as UploadsRejected


def json_object(body: str | None) -> dict[str, Any]:
    try:
        value = json.loads(body or "")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return value


def direct_upload_of(event: APIGatewayProxyEvent) -> DirectUpload:
    headers = event.headers  # case-insensitive
    return DirectUpload.parse(
        event.body,
        bool(event.is_base64_encoded),
        content_type=headers.get("content-type"),
        filename=event.get_query_string_value("filename"),
        idempotency_key_header=headers.get(IDEMPOTENCY_HEADER),
    )


def router(api: Api) -> APIGatewayRouter:
    router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped
    fn = api.fn

    @router.post("/v1/uploads")
    @fn.tracer.capture_method
    def request_upload() -> Response[str]:
        event = router.current_event
        request_key = idempotency_key(event.headers.get(IDEMPOTENCY_HEADER))
        result, replayed = api.service().request_upload(json_object(event.body), principal(event), request_key)
        follow(fn, result["image_id"])
        fn.logger.info("upload presigned", extra={"status": result["status"], "replayed": replayed})
        if replayed:  # the same image, a fresh form; nothing new was stored, so nothing is counted
            return reply(201, result, headers={"Idempotent-Replayed": "true"})
        fn.metrics.add_metric(name="UploadsPresigned", unit=MetricUnit.Count, value=1)
        return reply(201, result)

    @router.put("/v1/images")
    @fn.tracer.capture_method
    def direct_upload() -> Response[str]:
        upload, caller = direct_upload_of(router.current_event), principal(router.current_event)
        if upload.idempotency_key is None:
            stored = api.service().direct_upload(upload.data, upload.content_type, upload.filename, caller)
            result, replayed = stored, False
        else:
            request = upload.idempotency_request(caller.tenant_id)
            run = api.direct_uploads()(router.lambda_context, request=request, upload=upload, caller=caller)
            result, replayed = run.value, run.replayed
        follow(fn, result["image_id"])
        fn.logger.info("image stored", extra={"status": result["status"], "replayed": replayed})
        if replayed:  # the first answer again, marked; nothing new was stored, so nothing is counted
            return reply(201, result, headers={"Idempotent-Replayed": "true"})
        fn.metrics.add_metric(name="UploadsAccepted", unit=MetricUnit.Count, value=1)
        return reply(201, result)

    return router
