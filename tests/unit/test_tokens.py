"""Cognito access tokens: the whole attack matrix against imgpipe.tokens, with keys made here (no network).

The integration tests run the same checks against moto's user pool over HTTP; here every claim and header can be
bent one at a time, and the JWKS fetches counted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import PyJWKClient
from jwt.algorithms import RSAAlgorithm

from imgpipe.tokens import (
    KIND,
    CognitoSettings,
    JwksUnavailable,
    TokenError,
    TokenFailure,
    TokenVerifier,
    looks_like_jwt,
    principal_of,
)

POOL = "eu-west-1_TestPool1"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
CLIENT = "web-client-id"
SUB = str(uuid.UUID(int=7))


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = new_key()
OTHER_POOL_KEY = new_key()


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "RS256", "use": "sig"}


class JwksServer:
    """The pool's JWKS endpoint on 127.0.0.1, counting fetches; `down` makes it answer 503."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.fetches = 0
        self.down = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(503 if server.down else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/{POOL}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()

    def client(self, cooldown: float = 60) -> PyJWKClient:
        return PyJWKClient(self.url, cache_keys=True, cooldown_duration=cooldown, timeout=2)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@dataclass(frozen=True)
class Offset:
    seconds: int


def claims(**override: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": SUB,
        "iss": ISSUER,
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "openid email",
        "auth_time": now,
        "iat": now,
        "exp": now + 900,
        "jti": str(uuid.uuid4()),
        "username": "alice",
        "cognito:groups": ["tenant:team-a"],
    }
    base.update(override)
    return {k: v for k, v in base.items() if v is not None}


def token(payload: dict[str, Any] | None = None, key: rsa.RSAPrivateKey = KEY, kid: str = "k1", **headers: Any) -> str:
    return jwt.encode(payload or claims(), key, algorithm="RS256", headers={"kid": kid, **headers})


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer([jwk(KEY, "k1")])
    yield server
    server.stop()


@pytest.fixture
def verifier(jwks: JwksServer) -> TokenVerifier:
    return TokenVerifier(CognitoSettings.for_pool(ISSUER, [CLIENT], jwks.url))


def refused(verifier: TokenVerifier, value: str) -> TokenFailure:
    with pytest.raises(TokenError) as caught:
        verifier.verify(value)
    return caught.value.failure


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_valid_access_token_names_the_user_and_its_tenant(verifier: TokenVerifier) -> None:
    principal = verifier.verify(token())
    assert (principal.key_id, principal.owner, principal.tenant_id, principal.kind) == (SUB, "alice", "team-a", KIND)


def test_a_user_in_no_tenant_group_is_a_tenant_of_its_own(verifier: TokenVerifier) -> None:
    assert verifier.verify(token(claims(**{"cognito:groups": None}))).tenant_id == SUB
    assert verifier.verify(token(claims(**{"cognito:groups": ["admins"]}))).tenant_id == SUB


def test_a_user_in_two_tenant_groups_is_refused_not_guessed(verifier: TokenVerifier) -> None:
    groups = {"cognito:groups": ["tenant:team-a", "tenant:team-b"]}
    assert refused(verifier, token(claims(**groups))) is TokenFailure.AMBIGUOUS_TENANT


@pytest.mark.parametrize(
    ("override", "failure"),
    [
        # Times as offsets from when the test runs (parameters are made at collection, maybe minutes earlier).
        ({"exp": Offset(-120)}, TokenFailure.EXPIRED),
        ({"nbf": Offset(600)}, TokenFailure.NOT_YET_VALID),
        ({"iat": Offset(600)}, TokenFailure.NOT_YET_VALID),
        ({"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool"}, TokenFailure.WRONG_ISSUER),
        ({"iss": ISSUER + "/"}, TokenFailure.WRONG_ISSUER),
        ({"client_id": "another-app"}, TokenFailure.WRONG_CLIENT),
        ({"client_id": None}, TokenFailure.WRONG_CLIENT),
        ({"token_use": "id", "aud": CLIENT, "client_id": None}, TokenFailure.WRONG_USE),
        ({"exp": None}, TokenFailure.MALFORMED),
        ({"sub": None}, TokenFailure.MALFORMED),
        ({"sub": "../../other-tenant"}, TokenFailure.MALFORMED),
        ({"cognito:groups": ["tenant:../x"]}, TokenFailure.MALFORMED),
        ({"cognito:groups": "tenant:team-b"}, TokenFailure.MALFORMED),
    ],
)
def test_claims_that_do_not_hold_are_refused(
    verifier: TokenVerifier, override: dict[str, Any], failure: TokenFailure
) -> None:
    now = int(time.time())
    values = {k: now + v.seconds if isinstance(v, Offset) else v for k, v in override.items()}
    assert refused(verifier, token(claims(**values))) is failure


def test_alg_none_is_refused(verifier: TokenVerifier) -> None:
    unsigned = jwt.encode(claims(), "", algorithm="none", headers={"kid": "k1"})
    assert refused(verifier, unsigned) is TokenFailure.BAD_ALGORITHM
    assert refused(verifier, unsigned + "c2ln") is TokenFailure.BAD_ALGORITHM


def test_hs256_keyed_with_the_public_key_is_refused(verifier: TokenVerifier) -> None:
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = b64(json.dumps(claims()).encode())
    signature = b64(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest())
    assert refused(verifier, f"{header}.{body}.{signature}") is TokenFailure.BAD_ALGORITHM
    # The same MAC under a header claiming RS256: a signature that does not verify.
    header = b64(json.dumps({"alg": "RS256", "kid": "k1"}).encode())
    signature = b64(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest())
    assert refused(verifier, f"{header}.{body}.{signature}") is TokenFailure.BAD_SIGNATURE


def test_a_tampered_payload_is_refused(verifier: TokenVerifier) -> None:
    header, _, signature = token().split(".")
    forged = b64(json.dumps(claims(**{"cognito:groups": ["tenant:team-b"]})).encode())
    assert refused(verifier, f"{header}.{forged}.{signature}") is TokenFailure.BAD_SIGNATURE


def test_a_token_of_another_pool_is_refused(verifier: TokenVerifier) -> None:
    # Same kid, same claims: only the key differs (another pool, or an attacker's own key).
    assert refused(verifier, token(key=OTHER_POOL_KEY)) is TokenFailure.BAD_SIGNATURE


def test_an_unknown_kid_is_refused_and_refetches_at_most_once_per_cooldown(
    verifier: TokenVerifier, jwks: JwksServer
) -> None:
    verifier.verify(token())
    assert jwks.fetches == 1
    for n in range(50):
        assert refused(verifier, token(kid=f"random-{n}")) is TokenFailure.UNKNOWN_KEY
    assert jwks.fetches == 1  # the first fetch started the cooldown: random kids cost nothing


def test_a_rotated_key_is_found_after_the_cooldown(jwks: JwksServer) -> None:
    verifier = TokenVerifier(CognitoSettings.for_pool(ISSUER, [CLIENT]), jwks.client(cooldown=0))
    verifier.verify(token())
    rotated = new_key()
    jwks.keys.append(jwk(rotated, "k2"))
    assert verifier.verify(token(key=rotated, kid="k2")).tenant_id == "team-a"
    assert jwks.fetches == 2


@pytest.mark.parametrize(
    "value",
    ["", "x", "a.b", "a.b.c.d", "imgpipe_team-a_x.y.z", "e30.e30.", "%%%.%%%.%%%", "a" * 9000 + ".b.c"],
)
def test_garbage_is_malformed(verifier: TokenVerifier, value: str) -> None:
    assert refused(verifier, value) in {TokenFailure.MALFORMED, TokenFailure.BAD_ALGORITHM}


def test_a_token_without_kid_is_malformed(verifier: TokenVerifier) -> None:
    assert refused(verifier, jwt.encode(claims(), KEY, algorithm="RS256")) is TokenFailure.MALFORMED


def test_an_unreachable_jwks_fails_closed(jwks: JwksServer, verifier: TokenVerifier) -> None:
    jwks.down = True
    with pytest.raises(JwksUnavailable):
        verifier.verify(token())
    closed = TokenVerifier(CognitoSettings.for_pool(ISSUER, [CLIENT], "http://127.0.0.1:9/jwks.json"))
    with pytest.raises(JwksUnavailable):
        closed.verify(token())


def test_an_empty_jwks_fails_closed(jwks: JwksServer, verifier: TokenVerifier) -> None:
    jwks.keys = []
    with pytest.raises(JwksUnavailable):
        verifier.verify(token())


def test_settings_need_an_issuer_and_a_client() -> None:
    with pytest.raises(ValueError, match="issuer"):
        CognitoSettings.for_pool("", [CLIENT])
    with pytest.raises(ValueError, match="client id"):
        CognitoSettings.for_pool(ISSUER, ["", ""])
    assert CognitoSettings.for_pool(ISSUER + "/", [CLIENT]).jwks_url == ISSUER + "/.well-known/jwks.json"


def test_api_keys_never_look_like_tokens() -> None:
    assert looks_like_jwt(token())
    assert not looks_like_jwt("imgpipe_team-a_" + "A" * 43)


def test_principal_of_takes_the_user_name_as_owner_and_falls_back_to_sub() -> None:
    assert principal_of({"sub": SUB, "username": "bob"}).owner == "bob"
    assert principal_of({"sub": SUB}).owner == SUB
