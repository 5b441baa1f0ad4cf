"""A local deploy is quiet (`make up`): Terraform's apply goes to a log, the terminal gets one progress line;
a failure still shows the failing resource and the log's path. VERBOSE=1 streams it as before."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from scripts.deploy import plan_summary, tf

APPLY_LINES = [
    "module.pipeline.aws_kms_key.this: Creating...",
    "module.pipeline.aws_kms_key.this: Creation complete after 1s [id=k1]",
    "module.pipeline.aws_s3_bucket.raw: Creating...",
    "module.pipeline.aws_s3_bucket.raw: Still creating... [10s elapsed]",
    "module.pipeline.aws_s3_bucket.raw: Creation complete after 12s [id=raw]",
    "module.pipeline.aws_lambda_alias.live: Modifications complete after 0s [id=live]",
    "module.pipeline.aws_sqs_queue.old: Destruction complete after 0s",
    "",
    "Apply complete! Resources: 2 added, 1 changed, 1 destroyed.",
]


@pytest.fixture
def fake_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `terraform` on PATH that prints an apply's lines, then exits with $FAKE_TF_EXIT."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "terraform"
    body = "\n".join(f"printf '%s\\n' '{line}'" for line in APPLY_LINES)
    script.write_text(
        "#!/bin/sh\n"
        + 'if [ -n "${FAKE_TF_ARGS:-}" ]; then printf \'%s\\n\' "$@" > "$FAKE_TF_ARGS"; fi\n'
        + body
        + '\nif [ "${FAKE_TF_EXIT:-0}" != 0 ]; then\n'
        + "  printf '%s\\n' '' 'Error: creating Lambda Function (imgpipe-local-upload_api): InvalidParameterValue'\n"
        + "  printf '%s\\n' '  with module.pipeline.aws_lambda_function.this[\"upload_api\"],'\n"
        + "fi\nexit ${FAKE_TF_EXIT:-0}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    for env in ("local", "staging"):
        (tmp_path / "terraform" / "envs" / env).mkdir(parents=True)
    return tmp_path


def test_a_quiet_apply_logs_everything_and_prints_one_progress_line(
    fake_terraform: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = fake_terraform / "run" / "terraform-local.log"
    log.parent.mkdir()
    tf.apply("local", dict(os.environ), fake_terraform / "p.tfplan", fake_terraform, log=log, operations=4)
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("==> terraform apply ENV=local: 4/4 resources applied (")
    assert "Creation complete" not in out and "Apply complete" not in out
    assert log.read_text().splitlines() == APPLY_LINES


def test_a_failed_quiet_apply_names_the_resource_and_the_log(
    fake_terraform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_TF_EXIT", "1")
    log = fake_terraform / "terraform-local.log"
    with pytest.raises(tf.TfError) as failed:
        tf.apply("local", dict(os.environ), fake_terraform / "p.tfplan", fake_terraform, log=log, operations=9)
    message = str(failed.value)
    assert "InvalidParameterValue" in message and 'aws_lambda_function.this["upload_api"]' in message
    assert str(log) in message or "terraform-local.log" in message


def test_only_the_local_env_raises_terraforms_parallelism(
    fake_terraform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = fake_terraform / "args"
    monkeypatch.setenv("FAKE_TF_ARGS", str(args))
    tf.apply("local", dict(os.environ), fake_terraform / "p.tfplan", fake_terraform)
    assert f"-parallelism={tf.PARALLELISM['local']}" in args.read_text().splitlines()
    assert tf.PARALLELISM["local"] > 10  # Terraform's default, which the waits of the AWS provider fill
    tf.apply("staging", dict(os.environ), fake_terraform / "p.tfplan", fake_terraform)
    assert not [a for a in args.read_text().splitlines() if a.startswith("-parallelism")]


def test_a_verbose_apply_streams_terraform(fake_terraform: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tf.apply("local", dict(os.environ), fake_terraform / "p.tfplan", fake_terraform)
    assert capsys.readouterr().out.splitlines() == APPLY_LINES


def test_progress_in_a_log_is_a_line_every_few_seconds_not_one_per_resource(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter(float(s) for s in range(0, 1000, 3))  # every step 3 s later
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    progress = tf.Progress(20, "apply", tty=False)
    for _ in range(20):
        progress.step()
    progress.finish()
    lines = capsys.readouterr().out.splitlines()
    assert 5 <= len(lines) <= 8, lines  # 60 s of steps: about one line per 10 s, then the last
    assert lines[-1].startswith("apply: 20/20 resources applied")


def change(address: str, action: str = "create", kind: str = "aws_sqs_queue") -> plan_summary.Change:
    return plan_summary.Change(address, action, kind)


def test_a_brief_plan_lists_few_changes_and_counts_many_but_always_shows_data_at_risk() -> None:
    few = plan_summary.Summary([change("a.b"), change("a.c", "update")])
    assert "a.b" in plan_summary.render_text(few, "ENV=local", max_changes=20)
    many = plan_summary.Summary(
        [change(f"m.q{i}") for i in range(30)] + [change("m.table", "replace", "aws_dynamodb_table")]
    )
    text = plan_summary.render_text(many, "ENV=local", max_changes=20)
    assert "m.q1" not in text and "(30 more changes, not listed here)" in text
    assert "m.table" in text and "!! 1 resource(s)" in text
    assert many.operations == 32  # 30 creates, and a replace is a destroy and a create
