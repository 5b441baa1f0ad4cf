"""api_authorizer: REST API Lambda authorizer (REQUEST type) for machine clients and web users.

A request carries one credential: an API key (`x-api-key`, or `Authorization: Bearer <key>`) checked against its
peppered digest in the key table, or a Cognito access token (`Authorization: Bearer <token>`) verified against the user
pool's JWKS (imgpipe.tokens). Missing, malformed, ambiguous or wrong credentials raise "Unauthorized" (API Gateway
answers 401); a revoked key gets an explicit Deny policy (403). Either way the caller's id, owner, tenant and kind
travel to upload_api in the same context, and the whole API (not one method) is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgpipe import config
from imgpipe.adapters.key_registry import KeyRegistry, NoPepper
from imgpipe.auth import AuthError, AuthFailure, Principal, authenticate, credential_of, key_id_of
from imgpipe.runtime import FunctionRuntime

if TYPE_CHECKING:
    from imgpipe.tokens import TokenVerifier

fn = FunctionRuntime.for_service("api_authorizer", metrics=False)
logger, tracer = fn.logger, fn.tracer


@cache
def registry() -> KeyRegistry:
    return KeyRegistry(
        config.required("API_KEYS_TABLE"),
        config.required("API_KEY_PEPPER_SECRET_ID"),
        boto3.client("dynamodb"),
        boto3.client("secretsmanager"),
        max_age=config.integer("API_KEYS_CACHE_SECONDS", 60, 0, 60),
    )


@cache
def verifier() -> TokenVerifier | None:
    """None when the deployment has no web users (JWT_ISSUER empty): bearer tokens are then refused."""
    issuer = config.optional("JWT_ISSUER")
    if not issuer:
        return None
    # PyJWT and cryptography on the first bearer token: a cold start that serves API keys never loads them.
    from imgpipe.tokens import CognitoSettings, TokenVerifier

    client_ids = (config.optional("JWT_CLIENT_IDS") or "").split(",")
    return TokenVerifier(CognitoSettings.for_pool(issuer, client_ids, config.optional("JWT_JWKS_URL")))


def principal_of(headers: Mapping[str, str]) -> Principal:
    """headers: case-insensitive, as Powertools gives them."""
    credential = credential_of(headers.get("x-api-key"), headers.get("authorization"))
    if credential.kind == "api_key":
        try:
            pepper = registry().pepper()
        except NoPepper:
            raise AuthError(AuthFailure.INVALID) from None  # no key was ever issued here
        return authenticate(credential.value, registry().records_for(key_id_of(credential.value)), pepper)
    tokens = verifier()
    if tokens is None:
        raise AuthError(AuthFailure.INVALID)
    from imgpipe.tokens import TokenError

    try:
        return tokens.verify(credential.value)  # JwksUnavailable propagates: a 500, never an allow
    except TokenError as err:
        logger.info("token refused", extra={"token_failure": err.failure.value})
        raise AuthError(AuthFailure.INVALID) from None


def _response(
    event: APIGatewayAuthorizerRequestEvent, principal_id: str, **kwargs: Any
) -> APIGatewayAuthorizerResponse:
    arn = event.parsed_arn
    return APIGatewayAuthorizerResponse(
        principal_id=principal_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        **kwargs,
    )


@fn.handler()
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    try:
        principal = principal_of(event.headers)
    except AuthError as err:
        logger.info("authorization refused", extra={"failure": err.failure.value})
        if err.failure is not AuthFailure.REVOKED:
            raise Exception("Unauthorized") from None  # the exact message API Gateway maps to 401
        denied = _response(event, "revoked")
        denied.deny_all_routes()
        return denied.asdict()
    allowed = _response(
        event,
        principal.key_id,
        context={
            "key_id": principal.key_id,
            "owner": principal.owner,
            "tenant_id": principal.tenant_id,
            "kind": principal.kind,
        },
    )
    allowed.allow_all_routes()
    logger.append_keys(key_id=principal.key_id, tenant_id=principal.tenant_id, kind=principal.kind)
    return allowed.asdict()
