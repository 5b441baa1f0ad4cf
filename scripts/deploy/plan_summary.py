"""What a saved Terraform plan will do, in the few lines a reviewer reads before approving it.

    python -m scripts.deploy.plan_summary PLAN.json [--markdown OUT.md]     (PLAN.json: `terraform show -json PLANFILE`)

Counts as Terraform counts them (a replacement is one add and one destroy), every resource that changes with
the names of the attributes that change (never their values: a plan holds secrets), and, first, the
destructions and replacements of resources that hold data or keys, because those are what an approval is for.
`make plan` and `make deploy` print it; the CodePipeline plan stage saves it next to the plan file.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.cli import CliError, command

# Destroying one of these loses data, keys or the audit trail: listed apart, above everything else.
STATEFUL_TYPES = frozenset(
    {
        "aws_s3_bucket",
        "aws_dynamodb_table",
        "aws_kms_key",
        "aws_secretsmanager_secret",
        "aws_sqs_queue",
        "aws_msk_cluster",
        "aws_cloudwatch_log_group",
        "aws_cloudtrail",
        "aws_glue_catalog_table",
    }
)
SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "move": "->", "forget": "~>"}


@dataclass(frozen=True)
class Change:
    address: str
    action: str  # create | update | replace | delete | move | forget
    resource_type: str
    attributes: tuple[str, ...] = ()  # the top-level attributes that change (update / replace)
    previous_address: str = ""
    reason: str = ""

    @property
    def loses_data(self) -> bool:
        return self.action in ("replace", "delete") and self.resource_type in STATEFUL_TYPES


@dataclass
class Summary:
    changes: list[Change] = field(default_factory=list)
    outputs_changed: list[str] = field(default_factory=list)

    def count(self, *actions: str) -> int:
        return sum(1 for change in self.changes if change.action in actions)

    @property
    def operations(self) -> int:
        """What an apply reports complete, one line each: a replace is a destroy and a create."""
        return self.count("create", "update", "delete") + 2 * self.count("replace")

    @property
    def has_changes(self) -> bool:
        return bool(self.changes or self.outputs_changed)

    def headline(self) -> str:
        if not self.has_changes:
            return "Plan: no changes."
        replaced = self.count("replace")
        text = (
            f"Plan: {self.count('create', 'replace')} to add, {self.count('update')} to change, "
            f"{self.count('delete', 'replace')} to destroy"
        )
        extras = [
            f"{replaced} replaced" if replaced else "",
            f"{self.count('move')} moved" if self.count("move") else "",
        ]
        extras += [f"{self.count('forget')} forgotten" if self.count("forget") else ""]
        extras = [extra for extra in extras if extra]
        return text + (f" ({', '.join(extras)})" if extras else "") + "."


def _action(actions: list[str]) -> str | None:
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    if actions in (["create"], ["update"], ["delete"], ["forget"]):
        return actions[0]
    return None  # no-op and read: nothing happens to infrastructure


def _changed_attributes(change: dict[str, Any]) -> tuple[str, ...]:
    before = change.get("before") or {}
    after = change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ()
    names = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    names |= {name for name, value in unknown.items() if _has_unknown(value)}
    return tuple(sorted(names))


def _has_unknown(value: Any) -> bool:
    """after_unknown mirrors the attribute's shape ([{}] for a block with nothing unknown): True only if a leaf is."""
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return value is True


def summarise(plan: dict[str, Any]) -> Summary:
    """Summary of `terraform show -json` output for a saved plan."""
    summary = Summary()
    for resource in plan.get("resource_changes", []):
        if resource.get("mode") == "data":
            continue
        change = resource.get("change", {})
        action = _action(list(change.get("actions", [])))
        previous = resource.get("previous_address", "")
        if action is None and previous:
            action = "move"
        if action is None:
            continue
        attributes = _changed_attributes(change) if action in ("update", "replace") else ()
        replace_paths = change.get("replace_paths") or []
        reason = ", ".join(sorted({str(path[0]) for path in replace_paths if path})) if action == "replace" else ""
        summary.changes.append(
            Change(
                address=resource["address"],
                action=action,
                resource_type=resource.get("type", ""),
                attributes=attributes,
                previous_address=previous,
                reason=reason,
            )
        )
    for name, change in sorted(plan.get("output_changes", {}).items()):
        if change.get("actions") not in (["no-op"], ["read"]):
            summary.outputs_changed.append(name)
    order = {"delete": 0, "replace": 1, "update": 2, "create": 3, "move": 4, "forget": 5}
    summary.changes.sort(key=lambda c: (order[c.action], c.address))
    return summary


def _line(change: Change) -> str:
    text = f"{SYMBOLS[change.action]:>3} {change.address}"
    if change.previous_address and change.previous_address != change.address:
        text += f" (moved from {change.previous_address})"
    if change.attributes:
        text += f"  [{', '.join(change.attributes)}]"
    if change.reason:
        text += f"  forced by: {change.reason}"
    return text


def render_text(summary: Summary, title: str = "", max_changes: int | None = None) -> str:
    """The headline, every change holding data at risk, then the other changes (at most max_changes of them:
    a first deploy of the whole stack is a count, not a page of creates)."""
    lines = [f"{title}: {summary.headline()}" if title else summary.headline()]
    at_risk = [c for c in summary.changes if c.loses_data]
    if at_risk:
        lines.append(f"!! {len(at_risk)} resource(s) holding data or keys would be destroyed or replaced:")
        lines += [f"   {_line(c)}" for c in at_risk]
    others = [c for c in summary.changes if not c.loses_data]
    if max_changes is not None and len(others) > max_changes:
        lines.append(f"  ({len(others)} {'more ' if at_risk else ''}changes, not listed here)")
    else:
        lines += [f"  {_line(c)}" for c in others]
    if summary.outputs_changed:
        lines.append(f"  outputs changing: {', '.join(summary.outputs_changed)}")
    return "\n".join(lines) + "\n"


def render_markdown(summary: Summary, title: str = "Terraform plan") -> str:
    lines = [f"## {title}", "", f"**{summary.headline()}**", ""]
    at_risk = [c for c in summary.changes if c.loses_data]
    if at_risk:
        lines += ["> [!WARNING]", f"> {len(at_risk)} resource(s) holding data or keys would be destroyed or replaced:"]
        lines += [f"> - `{c.action}` `{c.address}`" + (f" (forced by {c.reason})" if c.reason else "") for c in at_risk]
        lines.append("")
    if summary.changes:
        lines += ["| action | resource | attributes |", "| --- | --- | --- |"]
        for change in summary.changes:
            where = change.address + (f" ← {change.previous_address}" if change.action == "move" else "")
            lines.append(f"| {change.action} | `{where}` | {', '.join(change.attributes)} |")
        lines.append("")
    if summary.outputs_changed:
        lines += [f"Outputs changing: {', '.join(f'`{name}`' for name in summary.outputs_changed)}", ""]
    return "\n".join(lines)


@command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.deploy.plan_summary", description=__doc__.splitlines()[0])
    parser.add_argument("plan_json", type=Path, help="output of `terraform show -json PLANFILE` ('-' for stdin)")
    parser.add_argument("--title", default="")
    parser.add_argument("--markdown", type=Path, help="also write the summary as Markdown here")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if str(args.plan_json) == "-" else args.plan_json.read_text()
        plan = json.loads(text)
    except (OSError, ValueError) as err:
        raise CliError(f"cannot read a JSON plan from {args.plan_json}: {err}") from err
    summary = summarise(plan)
    print(render_text(summary, args.title), end="")
    if args.markdown:
        args.markdown.write_text(render_markdown(summary, args.title or "Terraform plan"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
