"""The plan summary a reviewer reads before approving: counts as Terraform counts, data-losing changes first,
attribute names but never values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts.deploy import plan_summary


def resource(address: str, actions: list[str], before: Any = None, after: Any = None, **extra: Any) -> dict[str, Any]:
    rtype = address.split(".")[-2]
    change = {"actions": actions, "before": before, "after": after, "after_unknown": extra.pop("after_unknown", {})}
    change.update(extra.pop("change", {}))
    return {"address": address, "mode": "managed", "type": rtype, "change": change, **extra}


PLAN = {
    "resource_changes": [
        resource("module.a.aws_sqs_queue.q", ["create"], None, {"name": "q"}, after_unknown={"arn": True}),
        resource(
            "module.a.aws_lambda_function.f",
            ["update"],
            {"source_code_hash": "old", "memory_size": 512, "environment": [{"variables": {"TOKEN": "s3cr3t"}}]},
            {"source_code_hash": "new", "memory_size": 512, "environment": [{"variables": {"TOKEN": "n3w"}}]},
            # a block whose shape is mirrored with nothing unknown in it is not a change
            after_unknown={"tracing_config": [{}], "version": True, "logging_config": [{"log_group": False}]},
        ),
        resource(
            "module.a.aws_dynamodb_table.t",
            ["delete", "create"],
            {"name": "tbl-before-x"},
            {"name": "tbl-after-y"},
            change={"replace_paths": [["name"]]},
        ),
        resource("module.a.aws_kms_key.k", ["delete"], {"description": "k"}, None),
        resource("module.a.aws_iam_role.r", ["create", "delete"], {"name": "r1"}, {"name": "r2"}),
        resource("module.a.aws_sns_topic.t", ["no-op"], {"name": "t"}, {"name": "t"}),
        resource("module.b.aws_sns_topic.t", ["no-op"], {}, {}, previous_address="module.a.aws_sns_topic.old"),
        {
            "address": "data.aws_caller_identity.me",
            "mode": "data",
            "type": "aws_caller_identity",
            "change": {"actions": ["read"]},
        },
    ],
    "output_changes": {"pipeline": {"actions": ["update"]}, "same": {"actions": ["no-op"]}},
}


def test_counts_as_terraform_counts_them() -> None:
    summary = plan_summary.summarise(PLAN)
    # Terraform would say: 3 to add (1 create + 2 replace), 1 to change, 3 to destroy (1 delete + 2 replace)
    assert summary.headline() == "Plan: 3 to add, 1 to change, 3 to destroy (2 replaced, 1 moved)."
    assert [c.action for c in summary.changes] == ["delete", "replace", "replace", "update", "create", "move"]


def test_data_losing_changes_come_first_with_what_forces_them() -> None:
    text = plan_summary.render_text(plan_summary.summarise(PLAN), "ENV=staging")
    lines = text.splitlines()
    assert lines[0] == "ENV=staging: Plan: 3 to add, 1 to change, 3 to destroy (2 replaced, 1 moved)."
    assert lines[1].startswith("!! 2 resource(s) holding data or keys")
    assert "- module.a.aws_kms_key.k" in lines[2]
    assert "-/+ module.a.aws_dynamodb_table.t  [name]  forced by: name" in lines[3]
    # a replaced role holds no data: listed with the rest, not flagged
    assert any("-/+ module.a.aws_iam_role.r" in line and not line.startswith("!!") for line in lines[4:])
    assert "-> module.b.aws_sns_topic.t (moved from module.a.aws_sns_topic.old)" in text
    assert "outputs changing: pipeline" in text


def test_names_attributes_but_never_prints_values() -> None:
    summary = plan_summary.summarise(PLAN)
    update = next(c for c in summary.changes if c.action == "update")
    assert update.attributes == ("environment", "source_code_hash", "version")  # memory_size did not change
    create = next(c for c in summary.changes if c.action == "create")
    assert create.attributes == ()
    for rendered in (plan_summary.render_text(summary), plan_summary.render_markdown(summary)):
        for value in ("s3cr3t", "n3w", "tbl-before-x", "tbl-after-y"):
            assert value not in rendered


def test_markdown_has_a_warning_and_a_row_per_change() -> None:
    markdown = plan_summary.render_markdown(plan_summary.summarise(PLAN), "Terraform plan for ENV=prod")
    assert markdown.startswith("## Terraform plan for ENV=prod\n\n**Plan: 3 to add")
    assert "> [!WARNING]" in markdown and "> - `delete` `module.a.aws_kms_key.k`" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == 6


def test_no_changes() -> None:
    summary = plan_summary.summarise({"resource_changes": [resource("aws_s3_bucket.b", ["no-op"], {}, {})]})
    assert not summary.has_changes
    assert plan_summary.render_text(summary) == "Plan: no changes.\n"


def test_cli_writes_markdown_and_rejects_what_is_not_a_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_json = tmp_path / "plan.json"
    plan_json.write_text(json.dumps(PLAN))
    assert plan_summary.main([str(plan_json), "--markdown", str(tmp_path / "s.md"), "--title", "ENV=prod"]) == 0
    assert capsys.readouterr().out.startswith("ENV=prod: Plan: 3 to add")
    assert (tmp_path / "s.md").read_text().startswith("## ENV=prod")
    plan_json.write_text("not json")
    assert plan_summary.main([str(plan_json)]) == 2
    assert "cannot read a JSON plan" in capsys.readouterr().err
