"""The web app as the local gateway serves it (scripts/local/site.py): only the app's public files, a config.json
made from the deployed outputs, the response headers of web/site.json, and a sign-in relay that
passes InitiateAuth alone."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from scripts.cli import REPO_ROOT
from scripts.local.gateway import Gateway
from scripts.local.site import SIGN_IN_PATH, WEB_ROOT, LocalSite, manifest, public_paths, security_headers

OUTPUTS: dict[str, Any] = {
    "region": "eu-west-1",
    "web_users": {"user_pool_id": "eu-west-1_pool", "web_client_id": "client-1"},
}
EMULATOR = "http://127.0.0.1:4566"


@pytest.fixture
def site() -> LocalSite:
    found = LocalSite.from_outputs(OUTPUTS, EMULATOR)
    assert found is not None
    return found


def test_only_the_apps_public_files_are_served(site: LocalSite) -> None:
    served = set(public_paths())
    assert {"/", "/index.html", "/app.css", "/favicon.svg", "/src/app.js", "/src/auth.js"} <= served
    assert not [p for p in served if p.startswith(("/tests", "/tools")) or p.endswith((".json", ".md", ".mjs"))]
    for path in (
        "/tests/auth.test.js",
        "/tools/sniff.mjs",
        "/package.json",
        "/README.md",
        "/../pyproject.toml",
        "/src/../package.json",
        "/site.json",
        "/src/",
        "/v1/images",
    ):
        assert site.handle("GET", path, {}, b"") is None, path  # left to the API, which answers 404
    page = site.handle("GET", "/", {}, b"")
    assert page is not None and page.status == 200 and page.body == (WEB_ROOT / "index.html").read_bytes()
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    script = site.handle("GET", "/src/app.js", {}, b"")
    assert script is not None and script.headers["Content-Type"].startswith("text/javascript")
    assert site.handle("POST", "/", {}, b"") is None and site.handle("DELETE", "/src/app.js", {}, b"") is None


def test_every_file_the_page_loads_is_public() -> None:
    html = (WEB_ROOT / "index.html").read_text()
    sources = set(re.findall(r'(?:src|href)="([^"#]+)"', html))
    assert {f"/{s}" for s in sources} <= set(public_paths())
    imports = set()
    for module in (WEB_ROOT / "src").glob("*.js"):
        imports |= set(re.findall(r'from "\./([a-z_]+\.js)"', module.read_text()))
    assert {f"/src/{m}" for m in imports} <= set(public_paths())
    assert manifest()["public_files"]  # the set modules/web uploads (its test holds the bucket's objects to it)


def test_the_config_is_the_deployed_pool_and_the_local_sign_in(site: LocalSite) -> None:
    page = site.handle("GET", "/config.json", {}, b"")
    assert page is not None and page.headers["Cache-Control"] == "no-store"
    assert json.loads(page.body) == {
        "apiUrl": "",
        "region": "eu-west-1",
        "userPoolId": "eu-west-1_pool",
        "clientId": "client-1",
        "signIn": {"mode": "password", "endpoint": SIGN_IN_PATH},
    }
    assert LocalSite.from_outputs({"web_users": None}, EMULATOR) is None  # no pool: no app to sign in to
    with pytest.raises(ValueError, match="http"):
        LocalSite.from_outputs(OUTPUTS, "file:///etc")


def test_every_answer_carries_the_security_headers(site: LocalSite) -> None:
    for path in ("/", "/config.json", "/app.css"):
        page = site.handle("GET", path, {}, b"")
        assert page is not None
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self';" in policy
        assert f"img-src 'self' {EMULATOR}" in policy and f"connect-src 'self' {EMULATOR}" in policy
        assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy
        assert page.headers["X-Frame-Options"] == "DENY" and "Strict-Transport-Security" not in page.headers


def test_the_policy_leaves_out_what_has_nothing_to_stand_for() -> None:
    headers = security_headers(
        {
            "api": "https://api.example.com",
            "uploads": "https://raw.s3.eu-west-1.amazonaws.com",
            "images": "",
            "sign_in": "https://team.auth.eu-west-1.amazoncognito.com",
        },
        https=True,
    )
    directives = dict(d.split(" ", 1) for d in headers["Content-Security-Policy"].split("; "))
    assert directives["img-src"] == "'self'"
    assert directives["connect-src"] == (
        "'self' https://api.example.com https://raw.s3.eu-west-1.amazonaws.com "
        "https://team.auth.eu-west-1.amazoncognito.com"
    )
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000")


@pytest.mark.parametrize(
    "target",
    [
        "AWSCognitoIdentityProviderService.AdminCreateUser",
        "AWSCognitoIdentityProviderService.ListUsers",
        "AmazonS3.ListBuckets",
        "",
    ],
)
def test_the_sign_in_relay_passes_nothing_but_initiate_auth(site: LocalSite, target: str) -> None:
    # Refused before any request: the emulator's address here answers nothing, and nothing is tried.
    page = site.handle("POST", SIGN_IN_PATH, {"X-Amz-Target": [target]}, b"{}")
    assert page is not None and page.status == 400 and b"only InitiateAuth" in page.body
    assert site.handle("GET", SIGN_IN_PATH, {}, b"") is not None  # 405: the relay's path is never a file or route
    oversized = site.handle(
        "POST", SIGN_IN_PATH, {"X-Amz-Target": ["AWSCognitoIdentityProviderService.InitiateAuth"]}, b"x" * 20_000
    )
    assert oversized is not None and oversized.status == 400


def test_an_unreachable_emulator_is_a_503_not_a_crash() -> None:
    site = LocalSite.from_outputs(OUTPUTS, "http://127.0.0.1:9")  # discard port: nothing listens
    assert site is not None
    page = site.handle(
        "POST", SIGN_IN_PATH, {"X-Amz-Target": ["AWSCognitoIdentityProviderService.InitiateAuth"]}, b"{}"
    )
    assert page is not None and page.status == 503


def test_the_gateway_answers_the_sites_paths_and_leaves_the_rest_to_the_api(site: LocalSite) -> None:
    with_site = Gateway([], host=None, stage="v1", binary_media_types=[], site=site)  # type: ignore[arg-type]
    api_only = Gateway([], host=None, stage="v1", binary_media_types=[])  # type: ignore[arg-type]
    assert with_site.handle("GET", "/", {}, b"").status == 200
    assert with_site.handle("GET", "/index.html?x=1", {}, b"").status == 200
    for path in ("/nothing", "/v1/images", "/tests/auth.test.js"):  # the API's MISSING_AUTHENTICATION_TOKEN
        site_answer, api_answer = with_site.handle("GET", path, {}, b""), api_only.handle("GET", path, {}, b"")
        assert (site_answer.status, site_answer.body) == (api_answer.status, api_answer.body)
    assert api_only.handle("GET", "/", {}, b"").status == with_site.handle("GET", "/nothing", {}, b"").status


def test_the_local_policy_is_the_one_terraform_renders_from_the_same_file() -> None:
    suite = (REPO_ROOT / "terraform" / "modules" / "web" / "tests" / "web.tftest.hcl").read_text()
    rendered_by_terraform = re.search(r'output\.content_security_policy == "([^"]+)"', suite)
    assert rendered_by_terraform is not None
    variables = dict(
        re.findall(r'^\s+(api_origin|upload_origin|image_origin|hosted_ui_domain)\s+= "([^"]+)"', suite, re.MULTILINE)
    )
    sources = {
        "api": variables["api_origin"],
        "uploads": variables["upload_origin"],
        "images": variables["image_origin"],
        "sign_in": variables["hosted_ui_domain"],
    }
    assert security_headers(sources, https=True)["Content-Security-Policy"] == rendered_by_terraform.group(1)


SECRET_SHAPES = re.compile(
    r"AKIA[0-9A-Z]{16}|client_secret|aws_secret_access_key|-----BEGIN|password\s*[:=]\s*['\"]\w", re.I
)


def test_no_file_a_browser_fetches_holds_a_secret(site: LocalSite) -> None:
    served = {path: file.read_text() for path, file in public_paths().items()}
    served["/config.json"] = json.dumps(site.config)
    assert {path: SECRET_SHAPES.findall(text) for path, text in served.items() if SECRET_SHAPES.search(text)} == {}
