"""The web app's client logic (web/src): its own node:test suite, and a differential test holding its checks to
the server's — the same verdict on every byte string the server's tests use, hostile ones included, and the same
limits — so that the browser never refuses what the API would take, nor lets through what it would refuse."""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import subprocess
from functools import cache

import pytest
import yaml

from imgpipe.uploads import MAX_UPLOAD_BYTES
from imgpipe.validation import ALLOWED_FORMATS, ValidationError, sniff
from tests import adversarial
from tests.conftest import REPO_ROOT

WEB = REPO_ROOT / "web"


@cache
def node() -> str:
    found = shutil.which("node")
    assert found, "Node.js >= 18 runs the web client's tests (README, Prerequisites)"
    major = int(
        subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout[1:].split(".")[0]
    )
    assert major >= 18, f"Node.js >= 18 runs the web client's tests; found {major}"
    return found


def browser_verdicts(samples: list[bytes]) -> tuple[list[str | None], dict[str, object]]:
    run = subprocess.run(
        [node(), str(WEB / "tools" / "sniff.mjs")],
        input=json.dumps([base64.b64encode(s).decode() for s in samples]),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(run.stdout)
    return answer["formats"], answer["limits"]


def server_verdict(data: bytes) -> str | None:
    try:
        return sniff(data).value
    except ValidationError:
        return None


def test_the_client_logic_suite_passes() -> None:
    run = subprocess.run([node(), "--test", "tests/"], cwd=WEB, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    counts = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", run.stdout, re.MULTILINE))
    assert counts["fail"] == "0" and int(counts["pass"]) == int(counts["tests"]) >= 15, counts


def corpus() -> list[bytes]:
    """Every image and attack the server's tests use, each cut at every length up to the longest signature, the
    signatures with one byte changed, and random bytes (seeded: the same corpus on every run)."""
    whole = [case.data for case in (*adversarial.seeds(), *adversarial.attacks(), *adversarial.at_the_caps())]
    near = [
        b"\xff\xd8\xff\xe0",
        b"\x89PNG\r\n\x1a\n",
        b"GIF87a",
        b"GIF89a",
        b"RIFF\x24\x00\x00\x00WEBPVP8 ",
        b"II*\x00",
        b"MM\x00*",
        b"II+\x00",
        b"MM\x00+",
        b"\x00\x00\x00\x1cftypavif",
        b"\x00\x00\x00\x1cftypavis",
        b"\x00\x00\x00\x18ftypheic",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        b"<svg xmlns='http://www.w3.org/2000/svg'>",
        b"%PDF-1.7",
    ]
    rng = random.Random(20261203)  # noqa: S311 - a corpus to reproduce, not a secret
    mutated = []
    for signature in near:
        for i in range(len(signature)):
            changed = bytearray(signature)
            changed[i] ^= 1 << rng.randrange(8)
            mutated.append(bytes(changed))
    cuts = [data[:n] for data in whole + near for n in range(17)]
    noise = [rng.randbytes(rng.randrange(0, 40)) for _ in range(300)]
    return whole + near + mutated + cuts + noise


def test_the_browser_sniffs_every_sample_as_the_server_does() -> None:
    samples = corpus()
    formats, _ = browser_verdicts(samples)
    disagreements = [
        (sample[:16], mine, server_verdict(sample))
        for sample, mine in zip(samples, formats, strict=True)
        if mine != server_verdict(sample)
    ]
    assert disagreements == []
    # the corpus reaches every verdict: each allowed format and a refusal
    assert set(formats) == {f.value for f in ALLOWED_FORMATS} | {None}


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13])
def test_a_head_of_sniff_bytes_decides_as_the_whole_file(size: int) -> None:
    """The page reads only the file's first SNIFF_BYTES bytes: they must decide as the whole file does."""
    samples = [case.data for case in adversarial.seeds()]
    _, limits = browser_verdicts([])
    head = int(limits["SNIFF_BYTES"])  # type: ignore[call-overload]
    assert [server_verdict(s[:head]) for s in samples] == [server_verdict(s) for s in samples]
    assert browser_verdicts([s[: min(size, head)] for s in samples])[0] == [
        server_verdict(s[: min(size, head)]) for s in samples
    ]


def test_the_client_limits_are_the_servers() -> None:
    _, limits = browser_verdicts([])
    assert limits["MAX_UPLOAD_BYTES"] == MAX_UPLOAD_BYTES
    assert set(limits["FORMATS"]) == {f.value for f in ALLOWED_FORMATS}  # type: ignore[call-overload]
    spec = yaml.safe_load((REPO_ROOT / "docs" / "api" / "openapi.yaml").read_text())
    request = spec["components"]["schemas"]["UploadRequest"]["properties"]
    assert request["size_bytes"]["maximum"] == limits["MAX_UPLOAD_BYTES"]
    assert {t.removeprefix("image/") for t in request["content_type"]["enum"]} == set(limits["FORMATS"])  # type: ignore[call-overload]


def test_the_readme_lists_exactly_the_client_modules() -> None:
    listed = set(re.findall(r"^\| `(src/[a-z_]+\.js)` \|", (WEB / "README.md").read_text(), re.MULTILINE))
    assert listed == {f"src/{p.name}" for p in (WEB / "src").glob("*.js")}


# Reasons only a Kafka record can be refused for: never on an image a web user uploaded.
KAFKA_ONLY = {"bad_envelope", "reference_not_allowed", "reference_missing", "unknown_source", "idempotency_conflict"}


def test_every_reason_a_web_upload_can_be_refused_for_has_plain_words() -> None:
    from imgpipe.errors import Reason

    script = 'import("./src/present.js").then((m) => console.log(JSON.stringify(Object.keys(m.REASONS))))'
    run = subprocess.run(
        [node(), "--input-type=module", "-e", script], cwd=WEB, capture_output=True, text=True, timeout=60, check=True
    )
    worded = set(json.loads(run.stdout))
    assert {r.value for r in Reason} - KAFKA_ONLY <= worded
    assert worded <= {r.value for r in Reason}  # no words for a reason the server does not have
