"""The web app in a real browser (Debian's Chromium, driven by Playwright), through the deployed local stack:
the gateway serves the page on the origin the raw bucket's CORS rules name, the emulator's user pool signs the
users in, the page's presigned POSTs go straight to the emulator's S3, and the local worker processes them.

One person's journey — sign in by keyboard, send a JPEG, a PNG over 4 MiB, a hostile file and a text file
called .png, watch them become images, open one, delete one, sign out — then a second tenant who sees none of
it. Screenshots are kept in .run/test-artefacts/web-app/ and read for what a person would see: the thumbnail
is the photo's colours, the dialog shows the large rendition. The page logs no console error throughout.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from scripts.cli import REPO_ROOT
from scripts.local import gateway as local_gateway
from scripts.local import stack
from scripts.local import worker as local_worker
from scripts.local.lambda_host import FunctionHost
from scripts.ops import users
from tests.browser import FLAGS, chromium
from tests.imaging import padded_png
from tests.integration.conftest import serving

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements/dev.lock")

ARTEFACTS = REPO_ROOT / ".run" / "test-artefacts" / "web-app"
PROCESSED_WITHIN_MS = 120_000
# Counts the browser's own upload progress events, as the page's XHR receives them.
RECORD_PROGRESS = """
window.__progress = [];
const add = XMLHttpRequestUpload.prototype.addEventListener;
XMLHttpRequestUpload.prototype.addEventListener = function (type, listener, options) {
  if (type === "progress") {
    const wrapped = (event) => { window.__progress.push([event.loaded, event.total]); return listener(event); };
    return add.call(this, type, wrapped, options);
  }
  return add.call(this, type, listener, options);
};
"""


@pytest.fixture(scope="module")
def site(deployed: dict[str, Any], local_stack: stack.StackConfig, host: FunctionHost) -> Iterator[str]:
    """The local gateway on the stack's API port: the origin the deploy gave the raw bucket's CORS rules."""
    gateway = local_gateway.build(local_stack, deployed, host=host)
    assert gateway.site is not None, "the local environment deploys web users, so the gateway serves the app"
    with serving(gateway, local_stack.api_port) as url:
        yield url


@pytest.fixture(scope="module")
def processing(deployed: dict[str, Any], local_stack: stack.StackConfig, host: FunctionHost) -> Iterator[None]:
    """The local worker delivering the processor's queue in the background, as `make up` runs it, with the
    container workers' tasks (the split mode: the photo over 4 MiB is theirs)."""
    found = local_worker.build(local_stack, retry_seconds=0, outputs=deployed, host=host)
    assert found.services, "envs/local deploys the split mode: its ECS service runs here"
    stop = threading.Event()
    threads = [threading.Thread(target=p.run_forever, args=(stop,), daemon=True) for p in found.pollers]
    threads += [threading.Thread(target=s.run_forever, args=(stop,)) for s in found.services]
    for thread in threads:
        thread.start()
    yield
    stop.set()
    for thread in threads:
        thread.join(timeout=130)  # the tasks drain within their stop timeout


@pytest.fixture(scope="module")
def people(deployed: dict[str, Any], local_stack: stack.StackConfig) -> dict[str, tuple[str, str]]:
    """Web users of three tenants: name -> (user name, password)."""
    cognito = stack.aws_client(local_stack, "cognito-idp")
    pool = deployed["web_users"]["user_pool_id"]
    suffix = os.urandom(3).hex()
    found = {}
    for name, tenant in [
        ("alice", f"web-app-a-{suffix}"),
        ("bob", f"web-app-b-{suffix}"),
        ("carol", f"web-app-c-{suffix}"),
    ]:
        password = users.generated_password()
        users.add(cognito, pool, f"{name}-{suffix}", tenant, None, password)
        found[name] = (f"{name}-{suffix}", password)
    return found


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("files")
    photo = Image.new("RGB", (800, 600), (200, 60, 40))  # a warm red photo, a blue band across the middle
    photo.paste((30, 80, 200), (0, 250, 800, 350))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Imgpipe Optics", "Test Camera 1"  # Make, Model
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=90, exif=exif.tobytes())
    (folder / "photo.jpg").write_bytes(buffer.getvalue())

    # Over the direct-upload limit, so the page must use the presigned POST; cheap to process (padding).
    gradient = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    (folder / "big.png").write_bytes(padded_png(int(4.3 * 1024 * 1024), gradient))
    assert 4 * 1024 * 1024 < (folder / "big.png").stat().st_size < 10 * 1024 * 1024

    # A JPEG by its first bytes (so the page sends it) that is also a web page: the pipeline refuses it.
    hostile = bytearray(buffer.getvalue())
    comment = b"<script>alert(document.cookie)</script>"
    hostile[2:2] = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    (folder / "hostile.jpg").write_bytes(bytes(hostile))

    (folder / "notes.png").write_text("not an image at all, whatever its name says\n")
    return {path.name: path for path in folder.iterdir()}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium(), args=FLAGS)
        yield launched
        launched.close()


class Console:
    """What the page reports as wrong: console errors and uncaught exceptions."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)


def shot(page: Any, name: str, **kwargs: Any) -> Image.Image:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    target = kwargs.pop("element", None)
    (target or page).screenshot(path=str(path), **kwargs)
    return Image.open(path).convert("RGB")


def sign_in_by_keyboard(page: Any, site: str, username: str, password: str) -> None:
    page.goto(site + "/")
    page.wait_for_selector("#username:focus")  # the form takes the focus: typing starts at once
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.get_by_text(f"Signed in as {username}").wait_for()


def choose_by_keyboard(page: Any, path: Path, attempts: int = 3) -> None:
    """Space on the focused file input opens the chooser. Headless Chromium has, once in many CI runs, not opened
    it for a press it received (a 30 s timeout with the focus in place), so the press is repeated as a person
    would; the focus is asserted before every press and a chooser must open from the keyboard in the end."""
    for attempt in range(1, attempts + 1):
        assert page.evaluate("document.activeElement.id") == "files"
        try:
            with page.expect_file_chooser(timeout=10_000) as chooser:
                page.keyboard.press("Space")
        except playwright_api.TimeoutError:
            if attempt == attempts:
                raise
            continue
        chooser.value.set_files(str(path))
        return


def card(page: Any, filename: str) -> Any:
    return page.locator("#gallery .card", has=page.locator(".name", has_text=filename))


def unlabelled_controls(page: Any) -> list[str]:
    """Every visible control without an accessible name (a label, text, aria-label or alt)."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('input, button, select, textarea, img, progress')]
              .filter((el) => el.getClientRects().length > 0 || el.type === 'file')
              .filter((el) => !((el.labels && el.labels.length) || el.getAttribute('aria-label')
                               || (el.textContent || '').trim() || el.getAttribute('alt')))
              .map((el) => el.outerHTML.slice(0, 120))"""
        )
    )


def low_contrast(page: Any) -> list[str]:
    """Text whose colour on its background is under WCAG AA's 4.5:1 (backgrounds read up the tree)."""
    return list(
        page.evaluate(
            """() => {
              const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
              const channel = (c) => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
              const lum = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
              const background = (el) => {
                for (; el; el = el.parentElement) {
                  const c = rgb(getComputedStyle(el).backgroundColor);
                  if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
                }
                return [255, 255, 255];
              };
              const hasText = (el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
              const bad = [];
              for (const el of document.querySelectorAll('body *')) {
                if (!el.getClientRects().length || !hasText(el)) continue;
                const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
                const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
                if (ratio < 4.5) bad.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
              }
              return bad;
            }"""
        )
    )


def colour_near(image: Image.Image, target: tuple[int, int, int], tolerance: int = 40) -> float:
    """Share of the image's pixels within `tolerance` of `target` on every channel."""
    data = image.tobytes()
    pixels = [data[i : i + 3] for i in range(0, len(data), 3)]
    near = [p for p in pixels if all(abs(a - b) <= tolerance for a, b in zip(p, target, strict=True))]
    return len(near) / len(pixels)


def test_a_person_signs_in_uploads_watches_opens_deletes_and_signs_out(
    site: str,
    processing: None,
    people: dict[str, tuple[str, str]],
    files: dict[str, Path],
    browser: Any,
    deployed: dict[str, Any],
    local_stack: stack.StackConfig,
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_PROGRESS)
    page = context.new_page()
    console = Console(page)

    # Signing in: labelled controls, by keyboard alone.
    page.goto(site + "/")
    page.wait_for_selector("#password-form")
    assert unlabelled_controls(page) == [] and low_contrast(page) == []
    alice, password = people["alice"]
    sign_in_by_keyboard(page, site, alice, password)
    assert page.evaluate("document.documentElement.lang") == "en"

    # Four files at once: three are sent, the text file never leaves the browser.
    page.set_input_files("#files", [str(files[n]) for n in ("photo.jpg", "big.png", "hostile.jpg", "notes.png")])
    refused = page.locator(".upload[data-state=refused]", has_text="notes.png")
    refused.wait_for()
    assert "Not sent" in refused.inner_text() and "not a JPEG, PNG" in refused.inner_text()
    for name in ("photo.jpg", "big.png", "hostile.jpg"):
        card(page, name).wait_for(timeout=PROCESSED_WITHIN_MS)
    page.wait_for_function(
        """() => ['photo.jpg', 'big.png', 'hostile.jpg'].every((name) =>
             [...document.querySelectorAll('#gallery .card')].some((c) =>
               c.querySelector('.name').textContent === name
               && ['PROCESSED', 'REJECTED'].includes(c.dataset.status)))""",
        timeout=PROCESSED_WITHIN_MS,
    )
    progress = page.evaluate("window.__progress")
    big = files["big.png"].stat().st_size
    assert any(loaded > 0 and total >= big for loaded, total in progress), progress  # the browser's own events
    sent_bars = page.locator(".upload:not([data-state=refused]) progress")
    assert sent_bars.evaluate_all("(bars) => bars.map((b) => b.value)") == [100, 100, 100]

    assert card(page, "photo.jpg").get_attribute("data-status") == "PROCESSED"
    assert card(page, "big.png").get_attribute("data-status") == "PROCESSED"
    hostile = card(page, "hostile.jpg")
    assert hostile.get_attribute("data-status") == "REJECTED"
    assert "hides something other than an image" in hostile.inner_text()
    assert "expires in 6 days 23 hours" in card(page, "photo.jpg").inner_text()
    thumb = card(page, "photo.jpg").locator("img")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [160, 120]  # the thumb rendition
    assert unlabelled_controls(page) == [] and low_contrast(page) == []

    gallery = shot(page, "1-gallery", full_page=True)
    assert gallery.width == 1280
    seen = shot(page, "1-thumbnail", element=thumb)
    assert colour_near(seen, (200, 60, 40)) > 0.5 and colour_near(seen, (30, 80, 200)) > 0.1  # the photo, not a blank

    # Opening the photo: the large rendition and what was recorded about it; Escape closes it.
    card(page, "photo.jpg").get_by_role("button", name="Open photo.jpg").click()
    dialog = page.locator("#detail")
    dialog.wait_for()
    large = dialog.locator("#detail-image")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=large.element_handle())
    assert large.evaluate("(img) => img.naturalWidth") == 800  # the large rendition of an 800 px photo
    details = dialog.inner_text()
    for expected in (
        "800 \u00d7 600 px",
        "JPEG",
        "Imgpipe Optics Test Camera 1",
        "Perceptual hash",
        "Dominant colour",
        "Processing",
        "Kept 7 days after upload: expires in 6 days 23 hours",
    ):
        assert expected in details, (expected, details)
    opened = shot(page, "2-detail")
    assert colour_near(opened, (200, 60, 40)) > 0.05  # the photo is on screen, over the dimmed page
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # Deleting the PNG: gone from the page, from the API and from the bucket.
    big_id = card(page, "big.png").get_attribute("data-image-id")
    page.once("dialog", lambda confirm: confirm.accept())
    card(page, "big.png").get_by_role("button", name="Delete big.png").click()
    page.get_by_role("status").filter(has_text="big.png deleted.").wait_for()
    assert card(page, "big.png").count() == 0
    s3 = stack.aws_client(local_stack, "s3")
    versions = s3.list_object_versions(Bucket=deployed["raw_bucket_name"]).get("Versions", [])
    assert not [v for v in versions if v["Key"].endswith(str(big_id))]

    # Signing out: the session is gone with it.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#username:focus")
    assert page.evaluate("sessionStorage.length") == 0
    page.reload()
    page.wait_for_selector("#password-form")
    assert page.locator("#workspace").is_hidden()
    assert console.errors == []

    # Another tenant, in the same browser: none of it.
    bob, bob_password = people["bob"]
    sign_in_by_keyboard(page, site, bob, bob_password)
    page.get_by_text("No images yet").wait_for()
    assert page.locator("#gallery .card").count() == 0
    shot(page, "3-other-tenant")
    assert console.errors == []
    context.close()

    # On a phone: alice's gallery fits the width (nothing to scroll sideways), every control still labelled.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    small = phone.new_page()
    sign_in_by_keyboard(small, site, alice, password)
    card(small, "photo.jpg").wait_for()
    assert small.evaluate("document.scrollingElement.scrollWidth") <= 390
    assert unlabelled_controls(small) == [] and low_contrast(small) == []
    assert shot(small, "4-phone", full_page=True).width == 390
    phone.close()


def test_a_lost_answer_is_retried_under_its_key_and_a_cancelled_upload_can_be_sent_again(
    site: str,
    processing: None,
    people: dict[str, tuple[str, str]],
    browser: Any,
    files: dict[str, Path],
    deployed: dict[str, Any],
) -> None:
    """The network, made to fail as it does in real life: the first answer to POST /v1/uploads is lost after the
    API acted on it (the page retries under the same Idempotency-Key, and one image exists, not two); an upload
    to S3 that hangs is cancelled by the person, then sent again with Retry. Files come by keyboard (the file
    chooser opened from the focused input) and by drag and drop."""
    context = browser.new_context()
    page = context.new_page()
    console = Console(page)
    carol, password = people["carol"]
    sign_in_by_keyboard(page, site, carol, password)

    keys: list[str] = []

    def lose_the_first_answer(route: Any) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        answer = route.fetch()  # the API acts on the request...
        if len(keys) == 1:
            route.fulfill(status=503, json={"error": {"code": "unavailable", "message": "lost", "request_id": "x"}})
        else:  # ...and the page only sees the answer to its retry
            route.fulfill(response=answer)

    page.route("**/v1/uploads", lose_the_first_answer)
    page.keyboard.press("Tab")  # from the focused "Upload images" heading to the file input
    choose_by_keyboard(page, files["photo.jpg"])
    card(page, "photo.jpg").wait_for(timeout=PROCESSED_WITHIN_MS)
    page.unroute("**/v1/uploads")
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) == 36, keys  # one key, kept across the retry
    listed = page.evaluate(
        """async () => {
          const token = JSON.parse(sessionStorage.getItem('imgpipe.session')).accessToken;
          const ids = [];
          for (const status of ['PENDING_UPLOAD', 'RECEIVED', 'PROCESSING', 'PROCESSED', 'REJECTED']) {
            const page = await (await fetch(`/v1/images?status=${status}&limit=100`,
                                            { headers: { Authorization: `Bearer ${token}` } })).json();
            ids.push(...page.items.map((i) => i.image_id));
          }
          return ids;
        }"""
    )
    assert len(listed) == 1, listed  # the retry stored nothing new

    held: list[Any] = []

    def to_the_raw_bucket(url: str) -> bool:
        return deployed["raw_bucket_name"] in url

    page.route(to_the_raw_bucket, lambda route: held.append(route))  # the upload hangs: no answer at all
    page.evaluate(
        """(b64) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
          document.getElementById('drop-zone').dispatchEvent(
            new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }""",
        base64.b64encode(tiny_png()).decode(),
    )
    row = page.locator(".upload", has_text="dropped.png")
    row.locator("text=Sending").wait_for()
    row.get_by_role("button", name="Cancel dropped.png").click()
    row.locator("text=Cancelled").wait_for()
    page.unroute(to_the_raw_bucket)
    for route in held:
        with contextlib.suppress(Exception):  # the request was aborted by the page
            route.abort()
    row.get_by_role("button", name="Retry dropped.png").click()
    card(page, "dropped.png").wait_for(timeout=PROCESSED_WITHIN_MS)
    page.wait_for_function(
        """() => [...document.querySelectorAll('#gallery .card')].some((c) =>
             c.querySelector('.name').textContent === 'dropped.png' && c.dataset.status === 'PROCESSED')""",
        timeout=PROCESSED_WITHIN_MS,
    )
    # The lost answer's 503 is logged by the browser like any failed request; nothing else may be.
    assert [e for e in console.errors if "503" not in e] == [], console.errors
    context.close()


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 160, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_wrong_password_is_refused_in_plain_words(
    site: str, browser: Any, people: dict[str, tuple[str, str]]
) -> None:
    page = browser.new_page()
    page.goto(site + "/")
    page.wait_for_selector("#username:focus")
    for username in ("nobody-at-all", people["alice"][0]):  # an unknown user and a wrong password: alike
        page.fill("#username", username)
        page.fill("#password", "Wrong-Passw0rd!")
        page.keyboard.press("Enter")
        page.get_by_role("alert").filter(has_text="wrong user name or password").wait_for()
        assert page.locator("#workspace").is_hidden()
    page.close()


@pytest.fixture(scope="module")
def other_origin() -> Iterator[str]:
    """A page of another site, on another port of the same machine."""

    class Blank(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>another site</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


POST_FORM = """async (form) => {
  const body = new FormData();
  for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
  body.append("file", new Blob([new Uint8Array(form.bytes)], { type: "image/png" }));
  try {
    const answer = await fetch(form.url, { method: "POST", body });
    return `status ${answer.status}`;
  } catch (error) {
    return `refused: ${error.name}`;
  }
}"""


def test_the_presigned_post_works_from_the_apps_origin_and_not_from_another(
    site: str,
    other_origin: str,
    browser: Any,
    people: dict[str, tuple[str, str]],
    local_stack: stack.StackConfig,
    deployed: dict[str, Any],
) -> None:
    cognito = stack.aws_client(local_stack, "cognito-idp")
    token = users.access_token(cognito, deployed["web_users"]["web_client_id"], *people["alice"])
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="PNG")
    data = buffer.getvalue()

    def form() -> dict[str, Any]:
        answer = requests.post(
            f"{site}/v1/uploads",
            json={"filename": "cors.png", "content_type": "image/png", "size_bytes": len(data)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        return {**answer.json()["upload"], "bytes": list(data)}

    context = browser.new_context()
    page = context.new_page()
    page.goto(site + "/")
    assert page.evaluate(POST_FORM, form()) == "status 204"
    page.goto(other_origin + "/")
    # The browser withholds S3's answer from another site's page: the rules name only the app's origins.
    assert page.evaluate(POST_FORM, form()) == "refused: TypeError"
    context.close()


def test_the_page_is_served_with_the_policy_cloudfront_serves_it_with(site: str) -> None:
    answer = requests.get(site + "/", timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    policy = {}
    for directive in answer.headers["Content-Security-Policy"].split(";"):
        name, _, sources = directive.strip().partition(" ")
        policy[name] = sources
    assert (
        policy["default-src"] == "'none'" and policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    )
    assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["X-Content-Type-Options"] == "nosniff"
    config = requests.get(site + "/config.json", timeout=30).json()
    assert config["signIn"] == {"mode": "password", "endpoint": "/local/cognito-idp"} and config["clientId"]
    for private in ("/tests/auth.test.js", "/tools/sniff.mjs", "/package.json", "/site.json", "/README.md"):
        assert requests.get(site + private, timeout=30).status_code == 404, private  # the API's answer, not a file
