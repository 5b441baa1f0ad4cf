"""An independent Signature Version 4 verifier for S3 presigned URLs and POST forms, written from AWS's documented
algorithm (S3 API reference: "Authenticating Requests: Using Query Parameters", "Browser-Based Uploads Using
POST", and the general "Signature Version 4 signing process") with nothing but hashlib/hmac/urllib.

Why here and by hand: the emulator verifies no signature, no expiry and no POST policy, so a wrong link passes
every local run; re-running botocore's signer on the same inputs would repeat botocore's mistakes. This code is
anchored to AWS's own published examples instead (tests/unit/test_sigv4_verifier.py reproduces the documented
signatures byte for byte), and it also plays S3's part for a POST: does a submitted form satisfy its policy?
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_PRESIGNED_URL_SECONDS = 7 * 24 * 3600  # S3's limit for X-Amz-Expires
_UNRESERVED = "-_.~"  # with letters and digits: what UriEncode leaves alone


class SignatureInvalid(AssertionError):
    """The link or form would be refused by S3 (or is not what the pipeline promises)."""


@dataclass(frozen=True)
class Scope:
    access_key: str
    date: str
    region: str
    service: str
    terminal: str

    @classmethod
    def parse(cls, credential: str) -> Scope:
        parts = credential.split("/")
        if len(parts) != 5:
            raise SignatureInvalid(f"credential {credential!r} is not <key>/<date>/<region>/<service>/aws4_request")
        return cls(*parts)

    @property
    def text(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminal}"


@dataclass(frozen=True)
class VerifiedUrl:
    host: str
    bucket_key: str  # the decoded path, without the leading slash
    scope: Scope
    signed_at: datetime
    expires_in: int
    signed_headers: tuple[str, ...]
    security_token: str | None


@dataclass(frozen=True)
class VerifiedPost:
    url: str
    scope: Scope
    signed_at: datetime
    expiration: datetime
    conditions: list[Any]


def uri_encode(text: str, *, keep_slash: bool) -> str:
    return quote(text, safe=_UNRESERVED + ("/" if keep_slash else ""))


def signing_key(secret_key: str, scope: Scope) -> bytes:
    key = f"AWS4{secret_key}".encode()
    for part in (scope.date, scope.region, scope.service, scope.terminal):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(secret_key: str, scope: Scope, string_to_sign: str) -> str:
    return hmac.new(signing_key(secret_key, scope), string_to_sign.encode(), hashlib.sha256).hexdigest()


def _amz_date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureInvalid(f"X-Amz-Date {text!r} is not YYYYMMDDTHHMMSSZ") from None


def _check_scope(scope: Scope, signed_at: datetime, region: str | None) -> None:
    if scope.service != "s3" or scope.terminal != "aws4_request":
        raise SignatureInvalid(f"credential scope {scope.text} is not for s3/aws4_request")
    if scope.date != f"{signed_at:%Y%m%d}":
        raise SignatureInvalid(f"scope date {scope.date} differs from the signing time {signed_at:%Y%m%d}")
    if region is not None and scope.region != region:
        raise SignatureInvalid(f"signed for region {scope.region}, the bucket is in {region}")


def canonical_query(pairs: list[tuple[str, str]]) -> str:
    encoded = sorted((uri_encode(k, keep_slash=False), uri_encode(v, keep_slash=False)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def verify_presigned_url(
    url: str,
    secret_key: str,
    *,
    now: datetime,
    region: str | None = None,
    method: str = "GET",
) -> VerifiedUrl:
    """Recomputes the signature S3 would compute for `url` sent by a plain client (no extra headers) at `now`."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    params = dict(pairs)
    if "Signature" in params or "AWSAccessKeyId" in params:
        raise SignatureInvalid("Signature Version 2 link: S3 refuses it for SSE-KMS objects")
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise SignatureInvalid(f"X-Amz-Algorithm is {params.get('X-Amz-Algorithm')!r}, not {ALGORITHM}")
    for required in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"):
        if required not in params:
            raise SignatureInvalid(f"{required} missing")
    scope = Scope.parse(params["X-Amz-Credential"])
    signed_at = _amz_date(params["X-Amz-Date"])
    _check_scope(scope, signed_at, region)
    expires_in = int(params["X-Amz-Expires"])
    if not 1 <= expires_in <= MAX_PRESIGNED_URL_SECONDS:
        raise SignatureInvalid(f"X-Amz-Expires {expires_in} outside 1..{MAX_PRESIGNED_URL_SECONDS}")
    if now < signed_at - timedelta(minutes=15):
        raise SignatureInvalid("signed in the future")
    if now > signed_at + timedelta(seconds=expires_in):
        raise SignatureInvalid(f"expired at {signed_at + timedelta(seconds=expires_in):%Y-%m-%dT%H:%M:%SZ}")
    signed_headers = tuple(params["X-Amz-SignedHeaders"].split(";"))
    if signed_headers != ("host",):
        # A link is followed by browsers and curl without extra headers: anything else signed cannot be sent.
        raise SignatureInvalid(f"signed headers {signed_headers}: a plain client sends only host")

    path = unquote(parts.path) or "/"
    canonical_request = "\n".join(
        [
            method,
            uri_encode(path, keep_slash=True),
            canonical_query([(k, v) for k, v in pairs if k != "X-Amz-Signature"]),
            f"host:{parts.netloc}\n",
            "host",
            "UNSIGNED-PAYLOAD",
        ]
    )
    string_to_sign = "\n".join(
        [ALGORITHM, params["X-Amz-Date"], scope.text, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    expected = signature(secret_key, scope, string_to_sign)
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        raise SignatureInvalid("X-Amz-Signature does not match the request S3 would see")
    return VerifiedUrl(
        host=parts.netloc,
        bucket_key=path.lstrip("/"),
        scope=scope,
        signed_at=signed_at,
        expires_in=expires_in,
        signed_headers=signed_headers,
        security_token=params.get("X-Amz-Security-Token"),
    )


def verify_post(
    url: str, fields: dict[str, str], secret_key: str, *, now: datetime, region: str | None = None
) -> VerifiedPost:
    """Checks a presigned POST form as S3 does before looking at the file: SigV4 fields, the policy's signature
    and expiration, and that every field of the form is allowed by a condition of the policy."""
    lowered = {k.lower(): v for k, v in fields.items()}
    if "signature" in lowered or "awsaccesskeyid" in lowered:
        raise SignatureInvalid("Signature Version 2 form: S3 refuses it for SSE-KMS objects")
    if lowered.get("x-amz-algorithm") != ALGORITHM:
        raise SignatureInvalid(f"x-amz-algorithm is {lowered.get('x-amz-algorithm')!r}, not {ALGORITHM}")
    for required in ("x-amz-credential", "x-amz-date", "x-amz-signature", "policy"):
        if required not in lowered:
            raise SignatureInvalid(f"form field {required} missing")
    scope = Scope.parse(lowered["x-amz-credential"])
    signed_at = _amz_date(lowered["x-amz-date"])
    _check_scope(scope, signed_at, region)
    expected = signature(secret_key, scope, lowered["policy"])
    if not hmac.compare_digest(expected, lowered["x-amz-signature"]):
        raise SignatureInvalid("x-amz-signature does not sign this policy")
    try:
        policy = json.loads(base64.b64decode(lowered["policy"], validate=True))
        expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        conditions = list(policy["conditions"])
    except (ValueError, KeyError, TypeError) as err:
        raise SignatureInvalid(f"policy is not a POST policy document: {err}") from None
    if now > expiration:
        raise SignatureInvalid(f"policy expired at {policy['expiration']}")
    verified = VerifiedPost(url=url, scope=scope, signed_at=signed_at, expiration=expiration, conditions=conditions)
    # Every form field but the signature, the policy and the file (and x-ignore-*) must be named by a condition.
    for name, value in fields.items():
        lname = name.lower()
        if lname in ("x-amz-signature", "policy", "file") or lname.startswith("x-ignore-"):
            continue
        if not _allowed(conditions, lname, value):
            raise SignatureInvalid(f"form field {name}={value!r} is not allowed by the policy")
    return verified


def _allowed(conditions: list[Any], name: str, value: str) -> bool:
    for condition in conditions:
        if isinstance(condition, dict):
            for k, v in condition.items():
                if k.lower() == name:
                    return bool(v == value)
        elif isinstance(condition, list) and len(condition) == 3 and isinstance(condition[1], str):
            op, field, expected = condition[0].lower(), condition[1].lstrip("$").lower(), condition[2]
            if field != name:
                continue
            if op == "eq":
                return bool(value == expected)
            if op == "starts-with":
                return value.startswith(expected)
    return False


def post_accepts(post: VerifiedPost, bucket: str, fields: dict[str, str], size: int) -> str | None:
    """Plays S3's part for a submitted form: None when S3 would store the upload, else why it would refuse it.
    (`fields` is what the client sends, which may differ from what was signed.)"""
    submitted = {k.lower(): v for k, v in fields.items()}
    submitted["bucket"] = bucket
    for condition in post.conditions:
        if isinstance(condition, dict):
            for k, v in condition.items():
                if submitted.get(k.lower()) != v:
                    return f"condition {k} = {v!r} not met (sent {submitted.get(k.lower())!r})"
        elif isinstance(condition, list) and condition and condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if not low <= size <= high:
                return f"size {size} outside content-length-range {low}..{high}"
        elif isinstance(condition, list) and len(condition) == 3:
            op, field, expected = condition[0].lower(), condition[1].lstrip("$").lower(), condition[2]
            sent = submitted.get(field, "")
            if (op == "eq" and sent != expected) or (op == "starts-with" and not sent.startswith(expected)):
                return f"condition {condition} not met (sent {sent!r})"
    for name, value in submitted.items():
        if name in ("x-amz-signature", "policy", "file", "bucket") or name.startswith("x-ignore-"):
            continue
        if not _allowed(post.conditions, name, value):
            return f"form field {name} is not allowed by the policy"
    return None
