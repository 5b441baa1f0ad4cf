"""api_authorizer: REST API Lambda authorizer (REQUEST type) checking the x-api-key header.

Missing, malformed or wrong keys raise "Unauthorized" (API Gateway answers 401); a revoked key gets an
explicit Deny policy (403). An allowed caller's key id, owner and tenant travel to upload_api in the authorizer
context, and the whole API (not one method) is allowed so API Gateway's policy cache stays correct.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgpipe import config
from imgpipe.adapters.key_registry import KeyRegistry
from imgpipe.auth import AuthError, AuthFailure, authenticate, key_id_of

logger = Logger(service="api_authorizer")
tracer = Tracer(service="api_authorizer")


@cache
def registry() -> KeyRegistry:
    return KeyRegistry(
        config.required("API_KEYS_SECRET_ID"), max_age=config.integer("API_KEYS_CACHE_SECONDS", 60, 0, 3600)
    )


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)  # key_id of one request must not label the next
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    arn = event.parsed_arn
    header = event.headers.get("x-api-key") or event.headers.get("authorization")  # case-insensitive
    try:
        principal = authenticate(header, registry().records_for(key_id_of(header)))
    except AuthError as err:
        logger.info("authorization refused", extra={"failure": err.failure.value})
        if err.failure is not AuthFailure.REVOKED:
            raise Exception("Unauthorized") from None  # the exact message API Gateway maps to 401
        denied = APIGatewayAuthorizerResponse(
            principal_id="revoked",
            region=arn.region,
            aws_account_id=arn.aws_account_id,
            api_id=arn.api_id,
            stage=arn.stage,
        )
        denied.deny_all_routes()
        return denied.asdict()
    allowed = APIGatewayAuthorizerResponse(
        principal_id=principal.key_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={
            "key_id": principal.key_id,
            "owner": principal.owner,
            "tenant_id": principal.tenant_id,
            "kind": principal.kind,
        },
    )
    allowed.allow_all_routes()
    logger.append_keys(key_id=principal.key_id, tenant_id=principal.tenant_id)
    return allowed.asdict()
