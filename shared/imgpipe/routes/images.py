"""GET /v1/images/{image_id}, GET /v1/images and DELETE /v1/images/{image_id}: a caller's images, as its tenant
may see them and remove them."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from imgpipe.routes.common import Api, follow, principal, reply


def router(api: Api) -> APIGatewayRouter:
    router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped
    fn = api.fn

    @router.get("/v1/images/<image_id>")
    @fn.tracer.capture_method
    def get_image(image_id: str) -> Response[str]:
        caller = principal(router.current_event)
        follow(fn, image_id)
        return reply(200, api.service().get_image(image_id, caller))

    @router.delete("/v1/images/<image_id>")
    @fn.tracer.capture_method
    def delete_image(image_id: str) -> Response[str]:
        caller = principal(router.current_event)
        follow(fn, image_id)
        api.service().delete_image(image_id, caller)
        fn.logger.info("image deleted by its tenant", extra={"tenant_id": caller.tenant_id})
        return Response(status_code=204, body="")

    @router.get("/v1/images")
    @fn.tracer.capture_method
    def list_images() -> Response[str]:
        caller = principal(router.current_event)
        q = router.current_event.get_query_string_value
        return reply(200, api.service().list_images(caller, q("status"), q("since"), q("limit"), q("next")))

    return router
