"""Web users through the running local stack over HTTP: moto's user pool issues real signed access tokens, the
deployed authorizer verifies them against the JWKS moto serves, and a user is a tenant like an API key is.

Tokens with one defect each are forged with moto's own signing key (the key its pools sign with), so the only
reason for a refusal is that defect: the control, forged the same way with nothing wrong, is accepted.
"""

from __future__ import annotations

import gzip
import io
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import moto
import pytest
import requests
from jwt.algorithms import RSAAlgorithm
from PIL import Image

from scripts.local import stack
from scripts.ops import keys, users
from tests.openapi import assert_response_matches

pytestmark = pytest.mark.integration
RUN = uuid.uuid4().hex[:8]
TENANT_A, TENANT_B = f"web-a-{RUN}", f"web-b-{RUN}"


@pytest.fixture(scope="module")
def url(base_url: str) -> str:
    """The module's local gateway (conftest's base_url)."""
    return base_url


@pytest.fixture(scope="module")
def cognito(local_stack: stack.StackConfig) -> Any:
    return stack.aws_client(local_stack, "cognito-idp")


@pytest.fixture(scope="module")
def pool(deployed: dict[str, Any]) -> dict[str, Any]:
    web: dict[str, Any] = deployed["web_users"]
    return web


@pytest.fixture(scope="module")
def creds(
    deployed: dict[str, Any], local_stack: stack.StackConfig, cognito: Any, pool: dict[str, Any]
) -> dict[str, dict[str, str]]:
    """Request headers of: a user and an API key of tenant A, a user of tenant B."""
    out = {}
    for name, tenant in [("alice", TENANT_A), ("bob", TENANT_B)]:
        password = users.generated_password()
        users.add(cognito, pool["user_pool_id"], f"{name}-{RUN}", tenant, None, password)
        token = users.access_token(cognito, pool["web_client_id"], f"{name}-{RUN}", password)
        out[name] = {"Authorization": f"Bearer {token}"}
    key = keys.admin_for(deployed, local_stack).issue(f"web-key-{RUN}", "tenant A's robot", TENANT_A)
    out["robot"] = {"x-api-key": key}
    return out


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20 + seed % 50, 16), (seed % 255, 40, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def call(
    url: str, creds: dict[str, str], method: str, path: str, route: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    response = requests.request(method, f"{url}{path}", headers={**creds, **kwargs.pop("headers", {})},
                                timeout=30, **kwargs)  # fmt: skip
    body: dict[str, Any] = response.json()
    assert_response_matches(method, route, response.status_code, body)
    return response.status_code, body


def put(url: str, creds: dict[str, str], data: bytes, **extra: str) -> tuple[int, dict[str, Any]]:
    return call(url, creds, "PUT", "/v1/images", "/v1/images", data=data,
                headers={"Content-Type": "image/png", **extra})  # fmt: skip


def everything(url: str, headers: dict[str, str]) -> set[str]:
    """Every image id the caller can list, in every status, following every page."""
    seen = set()
    for status in ["RECEIVED", "PROCESSING", "PROCESSED", "REJECTED"]:
        cursor = None
        while True:
            params = {"status": status, "limit": "2", **({"next": cursor} if cursor else {})}
            code, body = call(url, headers, "GET", "/v1/images", "/v1/images", params=params)
            assert code == 200, body
            seen |= {item["image_id"] for item in body["items"]}
            cursor = body["next"]
            if not cursor:
                break
    return seen


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "error": {k: v for k, v in body["error"].items() if k != "request_id"}}


def test_a_user_and_a_key_of_one_tenant_share_its_images_and_see_no_others(
    url: str, creds: dict[str, dict[str, str]]
) -> None:
    code, mine = put(url, creds["alice"], png(1))
    assert code == 201 and mine["tenant_id"] == TENANT_A and mine["owner"] != ""
    code, by_robot = put(url, creds["robot"], png(2))
    assert code == 201 and by_robot["tenant_id"] == TENANT_A
    code, theirs = put(url, creds["bob"], png(3))
    assert code == 201 and theirs["tenant_id"] == TENANT_B

    assert {mine["image_id"], by_robot["image_id"]} <= everything(url, creds["alice"])
    assert everything(url, creds["alice"]) == everything(url, creds["robot"])
    assert theirs["image_id"] not in everything(url, creds["alice"])
    assert everything(url, creds["bob"]) == {theirs["image_id"]}

    code, seen = call(url, creds["robot"], "GET", f"/v1/images/{mine['image_id']}", "/v1/images/{image_id}")
    assert code == 200 and seen["image_id"] == mine["image_id"]


def test_every_route_answers_the_other_tenant_as_if_nothing_were_there(
    url: str, creds: dict[str, dict[str, str]]
) -> None:
    ids = [put(url, creds["alice"], png(10 + n))[1]["image_id"] for n in range(3)]
    # get: another tenant's image is exactly an unknown id
    foreign = call(url, creds["bob"], "GET", f"/v1/images/{ids[0]}", "/v1/images/{image_id}")
    unknown = call(url, creds["bob"], "GET", f"/v1/images/{uuid.uuid4()}", "/v1/images/{image_id}")
    assert foreign[0] == unknown[0] == 404
    assert without_request_id(foreign[1]) == without_request_id(unknown[1])
    # list: A's cursor in B's hands
    code, page = call(
        url, creds["alice"], "GET", "/v1/images", "/v1/images", params={"status": "RECEIVED", "limit": "1"}
    )
    assert code == 200 and page["next"]
    code, body = call(url, creds["bob"], "GET", "/v1/images", "/v1/images",
                      params={"status": "RECEIVED", "limit": "1", "next": page["next"]})  # fmt: skip
    assert (code, body["error"]["code"]) == (400, "invalid_cursor")
    # idempotency: A's key and bytes replayed by B make B's own image, never a view of A's
    data, key = png(40), {"Idempotency-Key": f"web-{RUN}-replay"}
    first = put(url, creds["alice"], data, **key)[1]
    replay = requests.put(f"{url}/v1/images", data=data, timeout=30,
                          headers={**creds["robot"], "Content-Type": "image/png", **key})  # fmt: skip
    assert replay.status_code == 201 and replay.json()["image_id"] == first["image_id"]
    other = put(url, creds["bob"], data, **key)[1]
    assert other["image_id"] != first["image_id"] and other["tenant_id"] == TENANT_B
    # An upload form's key too: A's key in B's request is B's own new image, never A's form.
    form_request = {"filename": "x.png", "content_type": "image/png", "size_bytes": 100}
    form_key = {"Idempotency-Key": f"web-{RUN}-form"}
    code, theirs = call(url, creds["alice"], "POST", "/v1/uploads", "/v1/uploads",
                        json=form_request, headers=form_key)  # fmt: skip
    assert code == 201
    code, upload = call(url, creds["bob"], "POST", "/v1/uploads", "/v1/uploads",
                        json=form_request, headers=form_key)  # fmt: skip
    assert code == 201 and upload["image_id"] not in {first["image_id"], theirs["image_id"], *ids}
    assert f"/{TENANT_B}/" in upload["upload"]["fields"]["key"]
    # B's key of a direct upload is spent on it: the same key for a form is another request.
    code, reused = call(url, creds["bob"], "POST", "/v1/uploads", "/v1/uploads",
                        json=form_request, headers={"Idempotency-Key": f"web-{RUN}-replay"})  # fmt: skip
    assert (code, reused["error"]["code"]) == (422, "idempotency_key_reused")
    assert not set(ids) & everything(url, creds["bob"])


def moto_signing_key() -> Any:
    path = Path(moto.__file__).parent / "cognitoidp" / "resources" / "jwks-private.json.gz"
    jwk = json.loads(gzip.decompress(path.read_bytes()))  # one private JWK: the key of every moto pool
    return jwk["kid"], RSAAlgorithm.from_jwk(json.dumps(jwk))


def forged(
    pool: dict[str, Any], kid: str | None = None, algorithm: str = "RS256", key: Any = None, **override: Any
) -> str:
    moto_kid, moto_key = moto_signing_key()
    now = int(time.time())
    claims = {
        "iss": pool["jwt"]["issuer"],
        "sub": str(uuid.uuid4()),
        "client_id": pool["web_client_id"],
        "token_use": "access",
        "iat": now,
        "exp": now + 600,
        "username": f"forged-{RUN}",
        "cognito:groups": [f"tenant:{TENANT_A}"],
        **override,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    headers = {"kid": kid or moto_kid}
    return jwt.encode(claims, key if key is not None else moto_key, algorithm=algorithm, headers=headers)


def test_a_token_forged_with_the_pools_key_and_nothing_wrong_is_accepted(url: str, pool: dict[str, Any]) -> None:
    code, body = put(url, {"Authorization": f"Bearer {forged(pool)}"}, png(50))
    assert code == 201 and body["tenant_id"] == TENANT_A


def defects(pool: dict[str, Any]) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    now = int(time.time())
    _, moto_key = moto_signing_key()
    public_pem = moto_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good = forged(pool)
    header, _, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    tampered = jwt.utils.base64url_encode(json.dumps({**claims, "cognito:groups": [f"tenant:{TENANT_B}"]}).encode())
    other_issuer = pool["jwt"]["issuer"].rsplit("/", 1)[0] + "/us-east-1_SomeOtherPool"
    return {
        "expired": forged(pool, exp=now - 300, iat=now - 900),
        "not yet valid": forged(pool, nbf=now + 600),
        "wrong issuer": forged(pool, iss=other_issuer),
        "wrong client": forged(pool, client_id="another-app"),
        "id token": forged(pool, token_use="id", aud=pool["web_client_id"], client_id=None),
        "alg none": jwt.encode(claims, "", algorithm="none", headers={"kid": "dummy"}),
        "hs256 with the public key": _hs256(claims, public_pem),
        "tampered payload": f"{header}.{tampered.decode()}.{signature}",
        "unknown kid": forged(pool, kid="rotated-away"),
        "attacker's own key": forged(pool, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    }


def _hs256(claims: dict[str, Any], secret: bytes) -> str:
    import hashlib
    import hmac

    head = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "dummy"}).encode())
    body = jwt.utils.base64url_encode(json.dumps(claims).encode())
    mac = jwt.utils.base64url_encode(hmac.new(secret, head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + mac).decode()


def test_every_defective_token_is_401_and_stores_nothing(
    url: str,
    pool: dict[str, Any],
    creds: dict[str, dict[str, str]],
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
) -> None:
    s3 = stack.aws_client(local_stack, "s3")
    bucket = str(deployed["raw_bucket_name"])

    def stored() -> int:
        return sum(page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket))

    before_objects, before_images = stored(), everything(url, creds["alice"])
    for name, token in defects(pool).items():
        code, body = put(url, {"Authorization": f"Bearer {token}"}, png(60))
        assert (code, body["error"]["code"]) == (401, "unauthorized"), name
        code, body = call(url, {"Authorization": f"Bearer {token}"}, "POST", "/v1/uploads", "/v1/uploads",
                          json={"filename": "x.png", "content_type": "image/png", "size_bytes": 10})  # fmt: skip
        assert code == 401, name
    assert stored() == before_objects
    assert everything(url, creds["alice"]) == before_images


def test_a_token_of_another_user_pool_is_401(url: str, cognito: Any) -> None:
    other = cognito.create_user_pool(PoolName=f"elsewhere-{RUN}")["UserPool"]["Id"]
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    client = cognito.create_user_pool_client(UserPoolId=other, ClientName="app", ExplicitAuthFlows=flows)
    password = users.generated_password()
    users.add(cognito, other, "mallory", TENANT_A, None, password)
    token = users.access_token(cognito, client["UserPoolClient"]["ClientId"], "mallory", password)
    code, body = put(url, {"Authorization": f"Bearer {token}"}, png(70))
    assert (code, body["error"]["code"]) == (401, "unauthorized")


def test_two_credentials_in_one_request_are_401(url: str, creds: dict[str, dict[str, str]]) -> None:
    code, body = put(url, {**creds["alice"], **creds["robot"]}, png(80))
    assert (code, body["error"]["code"]) == (401, "unauthorized")
