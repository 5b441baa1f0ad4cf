"""What upload_api answers when a request is refused or fails: {error: {code, message, request_id}}, counted
where a refusal is an upload's, logged without the stack trace ever reaching the client."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from imgpipe.api_error import ApiError
from imgpipe.direct_upload import IDEMPOTENCY_HEADER
from imgpipe.idempotency import InProgress, KeyReused
from imgpipe.quotas import QuotaExceeded
from imgpipe.routes import uploads
from imgpipe.routes.common import Api, error_response


def router(api: Api) -> APIGatewayRouter:
    router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped
    logger, metrics = api.fn.logger, api.fn.metrics

    def answer(status: int, code: str, message: str) -> Response[str]:
        return error_response(router.current_event, status, code, message)

    @router.exception_handler(ApiError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
    def api_error(err: ApiError) -> Response[str]:
        event = router.current_event
        if (event.http_method, event.resource) in uploads.ROUTES and 400 <= err.status < 500 and err.status != 401:
            metrics.add_dimension(name="reason", value=err.code)
            metrics.add_metric(name="UploadsRejected", unit=MetricUnit.Count, value=1)
        logger.info("request refused", extra={"status": err.status, "code": err.code})
        return answer(err.status, err.code, err.message)

    @router.exception_handler(QuotaExceeded)  # type: ignore[untyped-decorator]
    def quota_exceeded(err: QuotaExceeded) -> Response[str]:
        logger.info("quota reached", extra={"code": err.code, "retry_after": err.retry_after_seconds})
        metrics.add_dimension(name="reason", value=err.code)
        metrics.add_metric(name="QuotaRefusals", unit=MetricUnit.Count, value=1)
        response = answer(429, err.code, err.message)
        response.headers["Retry-After"] = str(err.retry_after_seconds)
        return response

    @router.exception_handler(InProgress)  # type: ignore[untyped-decorator]
    def idempotency_in_progress(_: Exception) -> Response[str]:
        message = f"a request with this {IDEMPOTENCY_HEADER} is still running; retry later"
        return answer(409, "idempotency_in_progress", message)

    @router.exception_handler(KeyReused)  # type: ignore[untyped-decorator]
    def idempotency_key_reused(_: Exception) -> Response[str]:
        message = f"this {IDEMPOTENCY_HEADER} was already used for a different upload"
        return answer(422, "idempotency_key_reused", message)

    @router.exception_handler(NotFoundError)  # type: ignore[untyped-decorator]
    def not_found(_: Exception) -> Response[str]:
        return answer(404, "not_found", "no such route")

    @router.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def unexpected(err: Exception) -> Response[str]:
        logger.exception("unhandled error")  # the stack trace goes to the log, never to the client
        return answer(500, "internal_error", "the request could not be completed")

    return router
