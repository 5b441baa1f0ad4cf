"""Cognito access tokens of web users, verified with PyJWT against the user pool's JWKS; never parsed by hand.

A token is accepted only when it is RS256 (the algorithm comes from this allowlist, never from the token, so
`alg: none` and HS256 keyed with the public key fail), signed by a key of the pool's JWKS (cached by PyJWKClient;
refetched for an unknown `kid` at most every REFRESH_COOLDOWN_SECONDS, so random kids cannot turn requests into
JWKS fetches),
issued by the pool (`iss`), an access token (`token_use`) of one of the API's app clients (`client_id`), inside
`exp`/`nbf`/`iat` (LEEWAY_SECONDS of clock skew), with a subject.

Its tenant comes from the user's groups, which Cognito writes into access tokens: exactly one group named
`tenant:<id>` names it; a user in none is a tenant of its own (its `sub`, like an API key's own id); a user in
two is refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from jwt import PyJWKClient

from imgpipe.auth import Principal, is_tenant_id

ALGORITHMS = ["RS256"]  # what Cognito signs with; nothing else is ever tried
LEEWAY_SECONDS = 30
REFRESH_COOLDOWN_SECONDS = 60
JWKS_TIMEOUT_SECONDS = 3  # the authorizer has 5 s; a slow JWKS must fail closed, not time the function out
MAX_TOKEN_CHARS = 8192  # Cognito access tokens are ~1 KB; anything far larger is not one
TENANT_GROUP_PREFIX = "tenant:"
KIND = "cognito_user"


class TokenFailure(StrEnum):
    MALFORMED = "malformed_token"
    BAD_ALGORITHM = "bad_algorithm"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired_token"
    NOT_YET_VALID = "token_not_yet_valid"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_CLIENT = "wrong_client"
    WRONG_USE = "not_an_access_token"
    AMBIGUOUS_TENANT = "ambiguous_tenant"


class TokenError(Exception):
    """The token proves nothing: the authorizer answers 401 and logs `failure`."""

    def __init__(self, failure: TokenFailure, detail: str = "") -> None:
        super().__init__(f"{failure.value}: {detail}" if detail else failure.value)
        self.failure = failure


class JwksUnavailable(RuntimeError):
    """The pool's JWKS could not be fetched: nothing can be verified (fail closed, as a 5xx: retry later)."""


@dataclass(frozen=True)
class CognitoSettings:
    issuer: str  # https://cognito-idp.<region>.amazonaws.com/<user pool id>
    client_ids: frozenset[str]
    jwks_url: str  # <issuer>/.well-known/jwks.json on AWS; the emulator's own URL locally

    @classmethod
    def for_pool(cls, issuer: str, client_ids: Iterable[str], jwks_url: str | None = None) -> CognitoSettings:
        issuer = issuer.rstrip("/")
        ids = frozenset(c for c in client_ids if c)
        if not issuer.startswith(("https://", "http://")) or not ids:
            raise ValueError("a Cognito issuer URL and at least one app client id are required")
        return cls(issuer, ids, jwks_url or f"{issuer}/.well-known/jwks.json")


def looks_like_jwt(value: str) -> bool:
    """Three base64url segments: worth verifying as a token (an API key never looks like this)."""
    return value.count(".") == 2 and not value.startswith("imgpipe_")


class TokenVerifier:
    def __init__(self, settings: CognitoSettings, jwks: PyJWKClient | None = None) -> None:
        self._settings = settings
        self._jwks = jwks or PyJWKClient(
            settings.jwks_url,
            cache_keys=True,
            lifespan=3600,
            timeout=JWKS_TIMEOUT_SECONDS,
            cooldown_duration=REFRESH_COOLDOWN_SECONDS,
        )

    def _signing_key(self, kid: str) -> Any:
        try:
            self._jwks.get_signing_keys()  # the set itself: failing here means nothing can be verified
        except (jwt.PyJWKClientError, jwt.PyJWKSetError) as err:  # unreachable, not JSON, or no usable keys
            raise JwksUnavailable(f"{self._settings.jwks_url}: {err}") from None
        try:
            return self._jwks.get_signing_key(kid)  # refetches once per cooldown for a kid it does not know
        except jwt.PyJWKClientConnectionError as err:
            raise JwksUnavailable(f"{self._settings.jwks_url}: {err}") from None
        except jwt.PyJWKClientError:
            raise TokenError(TokenFailure.UNKNOWN_KEY, f"kid {kid[:64]!r} is not in the pool's JWKS") from None

    def verify(self, token: str) -> Principal:
        if not token or len(token) > MAX_TOKEN_CHARS or not looks_like_jwt(token):
            raise TokenError(TokenFailure.MALFORMED)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as err:
            raise TokenError(TokenFailure.MALFORMED, str(err)) from None
        if header.get("alg") not in ALGORITHMS:
            raise TokenError(TokenFailure.BAD_ALGORITHM, f"alg {str(header.get('alg'))[:16]!r}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenError(TokenFailure.MALFORMED, "no kid")
        key = self._signing_key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                issuer=self._settings.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError(TokenFailure.EXPIRED) from None
        except jwt.ImmatureSignatureError:
            raise TokenError(TokenFailure.NOT_YET_VALID) from None
        except jwt.InvalidIssuerError:
            raise TokenError(TokenFailure.WRONG_ISSUER) from None
        except jwt.InvalidSignatureError:
            raise TokenError(TokenFailure.BAD_SIGNATURE) from None
        except jwt.InvalidAlgorithmError:
            raise TokenError(TokenFailure.BAD_ALGORITHM) from None
        except jwt.InvalidTokenError as err:
            raise TokenError(TokenFailure.MALFORMED, str(err)) from None
        if claims.get("token_use") != "access":
            raise TokenError(TokenFailure.WRONG_USE, f"token_use {str(claims.get('token_use'))[:16]!r}")
        if claims.get("client_id") not in self._settings.client_ids:
            raise TokenError(TokenFailure.WRONG_CLIENT)
        return principal_of(claims)


def principal_of(claims: dict[str, Any]) -> Principal:
    """The web user as a principal: its sub, its user name, and its tenant (see the module doc)."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not is_tenant_id(sub.lower()):
        raise TokenError(TokenFailure.MALFORMED, "sub is not a Cognito user id")
    groups = claims.get("cognito:groups") or []
    if not isinstance(groups, list):
        raise TokenError(TokenFailure.MALFORMED, "cognito:groups is not a list")
    tenants = sorted(
        {g[len(TENANT_GROUP_PREFIX) :] for g in groups if isinstance(g, str) and g.startswith(TENANT_GROUP_PREFIX)}
    )
    if len(tenants) > 1:
        raise TokenError(TokenFailure.AMBIGUOUS_TENANT, f"{len(tenants)} tenant groups")
    tenant = tenants[0] if tenants else sub.lower()
    if not is_tenant_id(tenant):
        raise TokenError(TokenFailure.MALFORMED, "the tenant group does not name a tenant id")
    username = claims.get("username")
    owner = username if isinstance(username, str) and username else sub
    return Principal(sub.lower(), owner[:128], tenant, KIND)
