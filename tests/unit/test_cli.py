"""One convention for every tool's failures (scripts/cli.py), and the deployed-outputs file the local runtime
reads instead of running Terraform (scripts/local/outputs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.cli import CliError, command, fail
from scripts.local import outputs, stack
from tests.conftest import isolated_config


class Expected(Exception):
    pass


@command(Expected)
def tool(argv: list[str] | None = None) -> int:
    match argv:
        case ["ok"]:
            return 0
        case ["cli"]:
            raise CliError("run `make up` first")
        case ["expected"]:
            raise Expected("no such key: k1")
        case _:
            raise RuntimeError("a bug")


def test_an_error_the_user_can_act_on_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert tool(["ok"]) == 0
    assert tool(["cli"]) == 2
    assert capsys.readouterr().err == "error: run `make up` first\n"
    assert tool(["expected"]) == 2
    assert capsys.readouterr().err == "error: no such key: k1\n"
    assert fail("plainly") == 2
    assert capsys.readouterr().err == "error: plainly\n"


def test_a_bug_keeps_its_traceback() -> None:
    with pytest.raises(RuntimeError, match="a bug"):
        tool(["anything else"])


def test_the_deploy_records_outputs_for_the_runtime_and_down_forgets_them(tmp_path: Path) -> None:
    cfg = isolated_config(tmp_path / "run")
    with pytest.raises(stack.StackError, match="make up"):
        outputs.read(cfg)
    written = outputs.write(cfg, {"rest_api_id": "abc", "limits": {"max_upload_bytes": 10}})
    assert written.parent == cfg.run_dir
    assert outputs.read(cfg) == {"rest_api_id": "abc", "limits": {"max_upload_bytes": 10}}
    assert not list(cfg.run_dir.glob("*.tmp"))  # written aside and renamed

    stack.down(cfg, log=lambda _line: None)
    assert not outputs.path(cfg).exists()


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_a_damaged_outputs_file_is_a_clear_error(tmp_path: Path, content: str) -> None:
    cfg = isolated_config(tmp_path)
    outputs.path(cfg).write_text(content)
    with pytest.raises(stack.StackError, match="run `make up` again"):
        outputs.read(cfg)


def test_the_runtime_starts_nothing_when_nothing_was_deployed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IMGPIPE_RUN_DIR", str(tmp_path))
    assert stack.main(["runtime"]) == 0
    assert "nothing deployed" in capsys.readouterr().out
    monkeypatch.setenv("IMGPIPE_MOTO_PORT", "not-a-port")
    assert stack.main(["status"]) == 2
    assert "IMGPIPE_MOTO_PORT" in capsys.readouterr().err
