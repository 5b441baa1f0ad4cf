"""The smoke test of docs/operations.md, run against the deployed local stack through the local gateway: it
passes when the pipeline works, and says which check failed when it does not."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.local import stack
from scripts.local import worker as local_worker
from scripts.ops import smoke

pytestmark = [pytest.mark.integration, pytest.mark.terraform]


@pytest.fixture(scope="module")
def processor(deployed: dict[str, Any], local_stack: stack.StackConfig) -> Any:
    worker = local_worker.build(local_stack, retry_seconds=0, outputs=deployed)
    return next(p for p in worker.pollers if p.mapping.function_name == deployed["processor_function_name"])


def test_smoke_passes_on_a_working_stack(base_url: str, keys: dict[str, str], processor: Any) -> None:
    waited: list[str] = []
    report = smoke.run(
        base_url, keys["good"], timeout_s=120, wait=lambda _: processor.poll_once(wait_s=0), say=waited.append
    )
    assert len(report.image_id) == 36  # a UUID
    assert report.lines[0] == "no key          401 refused"
    assert report.lines[1].startswith("PUT smoke.jpg   201 ")
    assert "PROCESSED after" in report.lines[2]
    downloaded = [line for line in report.lines if line.startswith("rendition")]
    assert len(downloaded) == 4 and any("WEBP" in line for line in downloaded)
    assert waited and waited[0].startswith("  waiting for processing: RECEIVED")  # progress while it waited


def test_smoke_names_the_check_that_failed(base_url: str, keys: dict[str, str]) -> None:
    with pytest.raises(smoke.SmokeFailed, match=r"PUT /v1/images answered 403"):
        smoke.run(base_url, keys["revoked"], timeout_s=1, wait=lambda _: None)
    with pytest.raises(smoke.SmokeFailed, match=r"still RECEIVED after 0 s: is the processor running\?"):
        smoke.run(base_url, keys["good"], timeout_s=0, wait=lambda _: None, say=lambda _: None)


def test_smoke_cli_needs_a_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("IMGPIPE_API_KEY", raising=False)
    assert smoke.main(["--env", "local"]) == 2
    assert "set IMGPIPE_API_KEY" in capsys.readouterr().err
