"""Smoke test of a deployed environment through its public API, as a client would use it.

    IMGPIPE_API_KEY=<key> python -m scripts.ops.smoke --env staging      (make smoke ENV=staging)

The key comes from the environment (never an argument: shell history); issue one with `make key ENV=…`.
Checks, in order: a request without a key is refused (401); a generated JPEG is accepted (201); it reaches
PROCESSED within --timeout (a progress line while it waits); every rendition link downloads an image no
larger than its record says. ENV=local talks to the local gateway `make up` serves. Exit 0 when all held,
1 when one failed (which one is said), 2 when it could not start.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from PIL import Image

from scripts.cli import CliError, command
from scripts.deploy import tf
from scripts.local import stack


class SmokeFailed(Exception):
    """A check that did not hold: what was expected and what came back."""


@dataclass
class Report:
    image_id: str = ""
    lines: list[str] = field(default_factory=list)


def sample_jpeg() -> bytes:
    image = Image.linear_gradient("L").resize((800, 600)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def run(
    base_url: str,
    api_key: str,
    timeout_s: float = 300,
    http: Any = requests,
    wait: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = print,
) -> Report:
    report = Report()
    base = base_url.rstrip("/")
    started = time.monotonic()

    anonymous = http.get(f"{base}/v1/images/img_smoke", timeout=30)
    if anonymous.status_code != 401:
        raise SmokeFailed(f"a request without an API key answered {anonymous.status_code}, not 401")
    report.lines.append("no key          401 refused")

    auth = {"x-api-key": api_key}
    put = http.put(
        f"{base}/v1/images",
        params={"filename": "smoke.jpg"},
        data=sample_jpeg(),
        headers={**auth, "Content-Type": "image/jpeg"},
        timeout=60,
    )
    if put.status_code != 201:
        raise SmokeFailed(f"PUT /v1/images answered {put.status_code}: {put.text[:300]}")
    report.image_id = put.json()["image_id"]
    report.lines.append(f"PUT smoke.jpg   201 {report.image_id}")

    deadline = time.monotonic() + timeout_s
    while True:
        got = http.get(f"{base}/v1/images/{report.image_id}", headers=auth, timeout=30)
        if got.status_code != 200:
            raise SmokeFailed(f"GET /v1/images/{report.image_id} answered {got.status_code}: {got.text[:300]}")
        body = got.json()
        if body["status"] == "PROCESSED":
            break
        if body["status"] == "REJECTED":
            raise SmokeFailed(
                f"the sample image was rejected: {body.get('reject_reason')} {body.get('reject_message')}"
            )
        if time.monotonic() > deadline:
            raise SmokeFailed(f"still {body['status']} after {timeout_s:.0f} s: is the processor running?")
        say(f"  waiting for processing: {body['status']} ({time.monotonic() - started:.0f} s)")
        wait(2)
    report.lines.append(f"GET             200 PROCESSED after {time.monotonic() - started:.1f} s")

    links = body.get("links", {})
    if set(links) != set(body.get("renditions", {})) or not links:
        raise SmokeFailed(f"renditions {sorted(body.get('renditions', {}))} but links for {sorted(links)}")
    for name, link in sorted(links.items()):
        record = body["renditions"][name]
        downloaded = http.get(link, timeout=60)
        if downloaded.status_code != 200:
            raise SmokeFailed(f"rendition {name}: its link answered {downloaded.status_code}")
        with Image.open(io.BytesIO(downloaded.content)) as image:
            if image.size != (record["width"], record["height"]):
                raise SmokeFailed(
                    f"rendition {name}: {image.size} downloaded, {record['width']}x{record['height']} recorded"
                )
            report.lines.append(f"rendition       {name:<11} {image.format} {image.size[0]}x{image.size[1]} downloaded")
    return report


def base_url_of(env: str) -> str:
    if env == "local":
        cfg = stack.StackConfig.from_env()
        return f"http://127.0.0.1:{cfg.api_port}"
    return str(tf.outputs(env, tf.run_env(env))["api_invoke_url"])


@command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.ops.smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="local", choices=[e for e in tf.ENVS if e != "cicd"])
    parser.add_argument("--url", help="the API's base URL (default: the env's deployed api_invoke_url)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for PROCESSED")
    args = parser.parse_args(argv)
    api_key = os.environ.get("IMGPIPE_API_KEY", "")
    if not api_key:
        raise CliError(f"set IMGPIPE_API_KEY (issue one with `make key ENV={args.env} KEY_ID=smoke OWNER=ops`)")
    try:
        base = args.url or base_url_of(args.env)
    except (tf.TfError, KeyError) as err:
        raise CliError(f"cannot find ENV={args.env}'s API: {err}") from err
    print(f"smoke: ENV={args.env} {base}")
    try:
        report = run(base, api_key, args.timeout)
    except SmokeFailed as err:
        print(f"smoke: FAILED: {err}", file=sys.stderr)
        return 1
    except requests.RequestException as err:
        print(f"smoke: FAILED: cannot reach {base}: {err}", file=sys.stderr)
        return 1
    for line in report.lines:
        print(f"  {line}")
    print(f"smoke: ENV={args.env} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
