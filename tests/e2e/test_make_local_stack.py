"""The README's workflow, through make, in a copy of the checkout: `make up` (twice), `make demo`,
`make status` after a crash, recovery, `make down`, and a clear error for an unknown ENV."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO_ROOT, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tracked and new (not ignored) files, as a fresh clone would have them plus uncommitted work."""
    target = tmp_path_factory.mktemp("checkout") / "imgpipe"
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def make(
    checkout: Path, *args: str, moto_port: int, kafka_port: int, api_port: int = 0, worker_port: int = 0
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env.update(IMGPIPE_MOTO_PORT=str(moto_port), IMGPIPE_KAFKA_PORT=str(kafka_port))
    if api_port:
        env["IMGPIPE_API_PORT"] = str(api_port)
    if worker_port:  # never the default 8081 a developer's own `make up` stack may hold
        env["IMGPIPE_WORKER_PORT"] = str(worker_port)
    # Reuse this test run's virtualenv instead of bootstrapping another one in the copy.
    started = time.monotonic()
    result = subprocess.run(
        ["make", f"VENV={sys.prefix}", *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    # --durations names only the whole workflow: this says which step of it took the time.
    print(f"make {' '.join(args)}: {time.monotonic() - started:.1f}s", file=sys.stderr)
    return result


def pid_of(checkout: Path, service: str) -> int:
    return int(json.loads((checkout / ".run" / f"{service}.json").read_text())["pid"])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_up_twice_demo_crash_recover_down(checkout: Path) -> None:
    ports = {"moto_port": free_port(), "kafka_port": free_port(), "api_port": free_port(), "worker_port": free_port()}
    try:
        first = make(checkout, "up", **ports)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "ENV=local deployed" in first.stdout

        started = time.monotonic()
        second = make(checkout, "up", **ports)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "already running" in second.stdout
        assert "up to date: nothing to apply" in second.stdout
        assert "nothing a plan reads changed since the last deploy" in second.stdout  # Terraform not run at all
        print(f"second `make up` (no-op) took {time.monotonic() - started:.1f}s")

        # An upgrade the documented way: one function changes; `make deploy` packages it, plans, summarises and
        # applies exactly that; a second `make deploy` has nothing to do.
        handler = checkout / "lambdas" / "upload_api" / "handler.py"
        handler.write_text(handler.read_text() + "\n# upgraded by the e2e test\n")
        upgrade = make(checkout, "deploy", "ENV=local", **ports)
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        assert re.search(r"package: upload_api +\S+ .* built", upgrade.stdout), upgrade.stdout
        # The function's new code, published as a new version, and its `live` alias (what API Gateway invokes)
        # moved to that version: nothing else.
        assert "ENV=local: Plan: 0 to add, 2 to change, 0 to destroy." in upgrade.stdout, upgrade.stdout
        changed = sorted(line for line in upgrade.stdout.splitlines() if line.startswith("    ~ "))
        assert len(changed) == 2, changed
        # the function of upload_api (modules/lambda_function, one instance per function of ingest_api)
        assert 'function["upload_api"].aws_lambda_alias.live  [function_version]' in changed[0], changed
        assert 'function["upload_api"].aws_lambda_function.this' in changed[1], changed
        assert "source_code_hash" in changed[1], changed
        assert "ENV=local deployed in" in upgrade.stdout
        again = make(checkout, "deploy", "ENV=local", **ports)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "ENV=local is up to date: nothing to apply" in again.stdout, again.stdout

        demo = make(checkout, "demo", **ports)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "nothing a plan reads changed since the last deploy" in demo.stdout  # `make deploy` recorded it
        assert "imgpipe-local-raw" in demo.stdout and "objects expire after 7 days" in demo.stdout
        assert "TTL on expires_at" in demo.stdout
        assert re.search(r"authz .* \d+ edges hold, \d+ n/a \(policies evaluated offline\)", demo.stdout), demo.stdout
        # Through the local API gateway: accepted uploads, and hostile ones refused with their reason.
        assert "201  RECEIVED" in demo.stdout, demo.stdout
        assert "refused: unknown_format" in demo.stdout and "refused: type_mismatch" in demo.stdout
        assert "401  refused" in demo.stdout
        tenants = demo.stdout.split("tenants: two web users")[1].split("Kafka: topic images")[0]
        assert tenants.count("its own included") == 2 and tenants.count("GET of it → 404") == 2, tenants
        assert "LEAKED" not in tenants and "MISSING" not in tenants, tenants
        assert "4/4 images finished" in demo.stdout, demo.stdout  # the worker ran the deployed processor
        api_part, kafka_part = demo.stdout.split("Kafka: topic images")
        assert api_part.count("PROCESSED") == 3 and "REJECTED  polyglot" in api_part  # the PHP shell
        assert "a JPEG of 1280x960" in demo.stdout and "a WEBP of 1280x960" in demo.stdout  # links download
        # Kafka: one inline and one claim-check image stored and processed, the HTML record rejected
        assert kafka_part.count("PROCESSED  from images-") == 2, demo.stdout
        assert "rejected images-" in kafka_part and "unknown_format" in kafka_part
        assert "unknown_source" in kafka_part and "tenant demo-kafka" in kafka_part  # the tenant is configuration's
        # Retention: 8 days later nothing image-derived is left, and the audit saw no violation.
        retention_part = demo.stdout.split("Retention: the clock moved 8 days ahead")[1]
        after = retention_part.split("after:")[1].splitlines()[0]
        counts = re.findall(r"(?<!\d)(\d+) (?:object versions|items) in imgpipe-local-", after)
        # raw, processed, analytics, athena-results, trail, items
        assert len(counts) == 6 and set(counts) == {"0"}, after
        assert "; 0 violations" in retention_part, retention_part
        # The BI reports over what was exported, then nothing left in any of them after the time travel.
        reports_part = demo.stdout.split("Reports (the Athena named queries' SQL on DuckDB)")[1].split("Retention:")[0]
        assert re.search(r"kafka\s+png\s+PROCESSED\s+1\s+\d+", reports_part), reports_part
        assert re.search(r"polyglot\s+api\s+1", reports_part), reports_part
        assert (checkout / "dist" / "report" / "index.html").read_text().count("<svg") == 4
        assert "rows per report: formats 0, latency 0, rejections 0, volume_by_hour 0, volumes 0" in retention_part

        # The demo ends with the app's address and a login that works there (the page's own sign-in request).
        login = re.search(r"web app: (http://127\.0\.0\.1:\d+/) .*\n\s+sign in as (\S+) / (\S+) ", demo.stdout)
        assert login, demo.stdout
        app, username, password = login.groups()
        page = requests.get(app, timeout=30)
        assert page.status_code == 200 and '<script type="module" src="src/app.js">' in page.text
        client_id = requests.get(app + "config.json", timeout=30).json()["clientId"]
        signed_in = requests.post(
            app + "local/cognito-idp",
            headers={"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
            json={"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id,
                  "AuthParameters": {"USERNAME": username, "PASSWORD": password}},
            timeout=30,
        )  # fmt: skip
        assert signed_in.status_code == 200 and signed_in.json()["AuthenticationResult"]["AccessToken"]

        moto_pid = pid_of(checkout, "moto")
        os.kill(moto_pid, signal.SIGKILL)
        deadline = time.time() + 5
        while alive(moto_pid) and time.time() < deadline:
            time.sleep(0.05)
        status = make(checkout, "status", **ports)
        assert "moto   dead" in status.stdout, status.stdout
        assert "tansu  running" in status.stdout, status.stdout

        recovered = make(checkout, "up", **ports)
        assert recovered.returncode == 0, recovered.stdout + recovered.stderr
        assert "ENV=local deployed" in recovered.stdout  # the fresh emulator got everything back
        assert "no longer holds what the local state describes" in recovered.stdout  # from an empty state
        assert "moto   running" in make(checkout, "status", **ports).stdout
    finally:
        pids = [pid_of(checkout, s) for s in ("moto", "tansu", "gateway") if (checkout / ".run" / f"{s}.json").exists()]
        down = make(checkout, "down", **ports)
    assert down.returncode == 0, down.stdout + down.stderr
    deadline = time.time() + 10
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in pids)
    assert not (checkout / "terraform" / "envs" / "local" / "terraform.tfstate").exists()
    assert "moto   stopped" in make(checkout, "status", **ports).stdout


def test_unknown_env_is_a_clear_error(checkout: Path) -> None:
    result = make(checkout, "plan", "ENV=qa", moto_port=free_port(), kafka_port=free_port())
    assert result.returncode != 0
    assert "unknown ENV=qa: choose one of: local staging prod cicd" in result.stderr


def test_plan_local_without_a_stack_says_what_to_do(checkout: Path) -> None:
    result = make(checkout, "plan", "ENV=local", moto_port=free_port(), kafka_port=free_port())
    assert result.returncode != 0
    assert "run `make up`" in result.stderr
