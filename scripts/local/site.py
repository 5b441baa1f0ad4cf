"""The web app as the local stack serves it, from the gateway's own origin (CloudFront's part on AWS):

- the app's public files (`public_files` of `web/site.json`, the list modules/web uploads), never the folder's
  tests or tools;
- `/config.json`, generated from the deployed outputs like modules/web generates it on AWS, with the local
  sign-in (the emulator's user pool has no hosted UI: the page asks for the password itself);
- the response headers of `web/site.json`, the file CloudFront's response headers policy is made
  from, with the emulator's origin where AWS has the buckets' regional endpoints (HSTS left out: plain HTTP);
- `/local/cognito-idp`: the page's InitiateAuth, relayed to the emulator's user pool. The emulator can answer
  CORS for every origin at once or for none (scripts/local/emulator.py turns it off, for S3's sake), so the
  sign-in goes through the page's own origin; only InitiateAuth passes, its body as the page sent it.
"""

from __future__ import annotations

import json
import mimetypes
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.cli import REPO_ROOT

WEB_ROOT = REPO_ROOT / "web"
MANIFEST = "site.json"  # what a browser may fetch and the headers it gets; modules/web reads it too
SIGN_IN_PATH = "/local/cognito-idp"
SIGN_IN_TARGETS = frozenset({"AWSCognitoIdentityProviderService.InitiateAuth"})
MAX_SIGN_IN_BYTES = 16 * 1024
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


@dataclass(frozen=True)
class Page:
    status: int
    headers: dict[str, str]
    body: bytes


def manifest(root: Path = WEB_ROOT) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((root / MANIFEST).read_text())
    return loaded


def security_headers(sources: dict[str, str], https: bool, root: Path = WEB_ROOT) -> dict[str, str]:
    """The headers of web/site.json, its placeholders ({api}, ...) replaced by `sources` (a missing
    or empty one is left out of the policy)."""
    spec = manifest(root)
    directives = []
    for directive, values in sorted(spec["content_security_policy"].items()):  # Terraform's map order
        kept = [sources.get(v[1:-1], "") if v.startswith("{") else v for v in values]
        directives.append(" ".join([directive, *[v for v in kept if v]]))
    headers = {
        "Content-Security-Policy": "; ".join(directives),
        "Referrer-Policy": spec["referrer_policy"],
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }
    if https:
        headers["Strict-Transport-Security"] = f"max-age={spec['hsts_max_age_seconds']}; includeSubDomains"
    return headers


def public_paths(root: Path = WEB_ROOT) -> dict[str, Path]:
    """URL path -> file, for every public file (and "/" for the page)."""
    found = {"/": root / "index.html"}
    for pattern in manifest(root)["public_files"]:
        for file in sorted(root.glob(pattern)):
            found["/" + file.relative_to(root).as_posix()] = file
    return found


class LocalSite:
    def __init__(self, config: dict[str, Any], emulator_origin: str, root: Path = WEB_ROOT) -> None:
        self.config = config
        if not emulator_origin.startswith(("http://", "https://")):
            raise ValueError(f"the emulator's origin must be an http(s) URL, not {emulator_origin!r}")
        self._emulator = emulator_origin.rstrip("/")
        origin = self._emulator
        self.headers = security_headers(
            {"api": "", "uploads": origin, "images": origin, "sign_in": ""}, https=False, root=root
        )
        # Found once: the gateway asks for every request, the API's included (a new file needs a restart, as
        # a new deploy does on CloudFront).
        self._paths = public_paths(root)

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any], emulator_origin: str, root: Path = WEB_ROOT) -> LocalSite | None:
        """The site for what was deployed; None when the environment has no web users (nothing to sign in to)."""
        web = outputs.get("web_users")
        if not web or not (root / "index.html").exists():
            return None
        config = {
            "apiUrl": "",  # the page's own origin: the gateway serves both
            "region": str(outputs.get("region") or "us-east-1"),
            "userPoolId": web["user_pool_id"],
            "clientId": web["web_client_id"],
            "signIn": {"mode": "password", "endpoint": SIGN_IN_PATH},
        }
        return cls(config, emulator_origin, root)

    def handle(self, method: str, path: str, headers: dict[str, list[str]], body: bytes) -> Page | None:
        """The answer for a request that is the site's, or None for one that is the API's."""
        if path == SIGN_IN_PATH:
            return self._sign_in(method, headers, body) if method == "POST" else self._page(405, b"", "text/plain")
        if method not in ("GET", "HEAD"):
            return None
        if path == "/config.json":
            return self._page(200, json.dumps(self.config, indent=2).encode(), _TYPES[".json"], cache="no-store")
        file = self._paths.get(path)
        if file is None:
            return None
        kind = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return self._page(200, file.read_bytes(), kind, cache="no-cache")

    def _page(self, status: int, body: bytes, kind: str, cache: str = "no-store") -> Page:
        return Page(status, {**self.headers, "Content-Type": kind, "Cache-Control": cache}, body)

    def _sign_in(self, method: str, headers: dict[str, list[str]], body: bytes) -> Page:
        lower = {k.lower(): v[-1] for k, v in headers.items() if v}
        target = lower.get("x-amz-target", "")
        if target not in SIGN_IN_TARGETS or len(body) > MAX_SIGN_IN_BYTES:
            message = {"__type": "NotAuthorizedException", "message": "only InitiateAuth is relayed"}
            return self._page(400, json.dumps(message).encode(), "application/x-amz-json-1.1")
        request = urllib.request.Request(  # noqa: S310 - the emulator's own http(s) URL, checked at start
            f"{self._emulator}/",
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the emulator's own URL
                return self._page(answer.status, answer.read(), "application/x-amz-json-1.1")
        except urllib.error.HTTPError as err:
            return self._page(err.code, err.read(), "application/x-amz-json-1.1")
        except OSError:
            return self._page(
                503,
                b'{"__type": "ServiceUnavailable", "message": "the emulator did not answer"}',
                "application/x-amz-json-1.1",
            )
