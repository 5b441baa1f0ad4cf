"""Local time travel for the retention guarantee: what AWS would have deleted by a moved clock, then the audit.

    python -m scripts.local.time_travel [--as-of +8d | +6d23h | 2026-12-09T10:00:00Z] [--json]

moto stores lifecycle rules and TTL settings but never acts on them. Reading them back from the emulator (not
re-declaring them), this does what S3 and DynamoDB would have done by `as_of`:
- S3 lifecycle, per bucket and rule: a current version expires at the first midnight UTC after
  LastModified + Expiration.Days (in a versioned bucket it becomes noncurrent under a delete marker); a
  noncurrent version is removed at the first midnight UTC after it became noncurrent + NoncurrentDays; a delete
  marker left alone is removed (ExpiredObjectDeleteMarker); incomplete multipart uploads are aborted (moto
  reports every upload as initiated in 2010, so locally that happens at the first sweep).
- DynamoDB TTL, per table with TTL enabled: items whose TTL attribute is at or before `as_of` are deleted
  (AWS takes up to ~48 h more; the audit covers that lag, and tests model it by not sweeping).
Then, once a running local worker has delivered what that caused (the stream's removals to the export), every
EventBridge schedule rule found in the emulator gets its targets invoked (scripts/local/lambda_host.py) with a
Scheduled Event whose `time` is `as_of` (the audit honours it only where Terraform set TRUST_EVENT_TIME, i.e.
envs/local), and lifecycle runs once more, as it keeps running on AWS (delete markers the audit left alone).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from scripts.cli import CliError, command
from scripts.local import stack
from scripts.local.events import scheduled_event
from scripts.local.lambda_host import FunctionHost

_RELATIVE = re.compile(r"^\+(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_as_of(text: str, now: datetime | None = None) -> datetime:
    """`+8d`, `+6d23h`, `+90m` (from now) or an ISO 8601 instant."""
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(text.strip())
    if match and any(match.groups()):
        days, hours, minutes = (int(g or 0) for g in match.groups())
        return now + timedelta(days=days, hours=hours, minutes=minutes)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--as-of {text!r}: use +<N>d<N>h<N>m or an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"--as-of {text!r}: give a time zone (e.g. Z)")
    return moment.astimezone(UTC)


def midnight_after(moment: datetime) -> datetime:
    """S3 lifecycle's rounding: actions take effect at the next midnight UTC."""
    day = moment.astimezone(UTC).date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return midnight if midnight == moment else midnight + timedelta(days=1)


@dataclass
class SweepReport:
    expired_current: int = 0  # current versions expired (a delete marker put on top, or deleted)
    removed_noncurrent: int = 0
    removed_delete_markers: int = 0
    aborted_uploads: int = 0
    ttl_deleted: int = 0
    by_store: dict[str, int] = field(default_factory=dict)

    def count(self, store: str, what: str, n: int = 1) -> None:
        setattr(self, what, getattr(self, what) + n)
        self.by_store[store] = self.by_store.get(store, 0) + n


def _rules(s3: Any, bucket: str) -> list[dict[str, Any]]:
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except s3.exceptions.ClientError as err:
        if err.response["Error"]["Code"] == "NoSuchLifecycleConfiguration":
            return []
        raise
    return [r for r in rules if r.get("Status") == "Enabled"]


def _prefix(rule: dict[str, Any]) -> str:
    selector = rule.get("Filter") or {}
    return str(selector.get("Prefix") or selector.get("And", {}).get("Prefix") or rule.get("Prefix") or "")


def sweep_bucket(s3: Any, bucket: str, as_of: datetime, report: SweepReport) -> None:
    rules = _rules(s3, bucket)
    if not rules:
        return
    versioned = s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"
    by_key: dict[str, list[dict[str, Any]]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in page.get("Versions", []):
            by_key.setdefault(entry["Key"], []).append({**entry, "marker": False})
        for entry in page.get("DeleteMarkers", []):
            by_key.setdefault(entry["Key"], []).append({**entry, "marker": True})
    for key, entries in by_key.items():
        applicable = [r for r in rules if key.startswith(_prefix(r))]
        if applicable:
            _sweep_key(s3, bucket, key, entries, applicable, versioned, as_of, report)
    for rule in rules:
        days = (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation")
        if days is None:
            continue
        for upload in s3.list_multipart_uploads(Bucket=bucket, Prefix=_prefix(rule)).get("Uploads", []):
            if midnight_after(upload["Initiated"] + timedelta(days=days)) <= as_of:
                s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                report.count(bucket, "aborted_uploads")


def _sweep_key(
    s3: Any,
    bucket: str,
    key: str,
    entries: list[dict[str, Any]],
    rules: list[dict[str, Any]],
    versioned: bool,
    as_of: datetime,
    report: SweepReport,
) -> None:
    expiration_days = [r["Expiration"]["Days"] for r in rules if "Days" in (r.get("Expiration") or {})]
    noncurrent_days = [
        r["NoncurrentVersionExpiration"]["NoncurrentDays"] for r in rules if r.get("NoncurrentVersionExpiration")
    ]
    drop_lone_markers = any((r.get("Expiration") or {}).get("ExpiredObjectDeleteMarker") for r in rules)
    entries = sorted(entries, key=lambda e: e["LastModified"], reverse=True)  # newest first
    # When each entry stopped being current: the next newer entry's write (or, for the current version, its
    # lifecycle expiry if that has come).
    current = entries[0]
    became_noncurrent: list[datetime | None] = [None] + [newer["LastModified"] for newer in entries[:-1]]
    gone: list[dict[str, Any]] = []
    if not current["marker"] and expiration_days:
        expires = midnight_after(current["LastModified"] + timedelta(days=min(expiration_days)))
        if expires <= as_of:
            report.count(bucket, "expired_current")
            if not versioned:
                gone.append(current)
            else:
                became_noncurrent[0] = expires
    for entry, since in zip(entries, became_noncurrent, strict=True):
        if since is None or entry in gone or not noncurrent_days:
            continue
        if midnight_after(since + timedelta(days=min(noncurrent_days))) <= as_of:
            gone.append(entry)
            report.count(bucket, "removed_delete_markers" if entry["marker"] else "removed_noncurrent")
    left = [e for e in entries if e not in gone]
    needs_marker = versioned and became_noncurrent[0] is not None and not current["marker"] and current in left
    if drop_lone_markers and left and all(e["marker"] for e in left) and not needs_marker:
        for entry in left:
            gone.append(entry)
            report.count(bucket, "removed_delete_markers")
    for start in range(0, len(gone), 1000):
        chunk = gone[start : start + 1000]
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": key, "VersionId": e["VersionId"]} for e in chunk], "Quiet": True}
        )
    if needs_marker:
        s3.delete_object(Bucket=bucket, Key=key)  # the expired current version becomes noncurrent


def sweep_tables(dynamodb: Any, as_of: datetime, report: SweepReport) -> None:
    cutoff = int(as_of.timestamp())
    for page in dynamodb.get_paginator("list_tables").paginate():
        for table in page.get("TableNames", []):
            ttl = dynamodb.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
            if ttl.get("TimeToLiveStatus") != "ENABLED":
                continue
            attribute = ttl["AttributeName"]
            keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
            scan = dynamodb.get_paginator("scan").paginate(
                TableName=table,
                FilterExpression="#ttl <= :cutoff",
                ExpressionAttributeNames={"#ttl": attribute},
                ExpressionAttributeValues={":cutoff": {"N": str(cutoff)}},
            )
            for scanned in scan:
                for item in scanned.get("Items", []):
                    dynamodb.delete_item(TableName=table, Key={k: item[k] for k in keys})
                    report.count(table, "ttl_deleted")


def sweep(cfg: stack.StackConfig, as_of: datetime) -> SweepReport:
    """What S3 lifecycle and DynamoDB TTL would have deleted by `as_of`, across everything in the emulator."""
    report = SweepReport()
    s3 = stack.aws_client(cfg, "s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        sweep_bucket(s3, bucket["Name"], as_of, report)
    sweep_tables(stack.aws_client(cfg, "dynamodb"), as_of, report)
    return report


def run_schedules(cfg: stack.StackConfig, as_of: datetime, host: FunctionHost | None = None) -> dict[str, Any]:
    """Invokes every Lambda target of every EventBridge schedule rule deployed in the emulator, at `as_of`."""
    events = stack.aws_client(cfg, "events")
    host = host or FunctionHost(stack.aws_client(cfg, "lambda"), cfg)
    results: dict[str, Any] = {}
    for page in events.get_paginator("list_rules").paginate():
        for rule in page.get("Rules", []):
            if not rule.get("ScheduleExpression") or rule.get("State") == "DISABLED":
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                if ":lambda:" not in target["Arn"]:
                    continue
                function = target["Arn"].split(":function:", 1)[1].split(":", 1)[0]
                results[function] = host.invoke(function, scheduled_event(rule["Arn"], as_of))
    return results


@dataclass
class FastForward:
    as_of: str
    lifecycle_and_ttl: dict[str, Any]
    scheduled: dict[str, Any]
    lifecycle_after: dict[str, Any]


def settle_worker(cfg: stack.StackConfig, quiet_s: float = 2.5, timeout_s: float = 30) -> None:
    """Waits until a running local worker has delivered what the sweep caused (e.g. the stream's REMOVE
    records to the export): in the days the clock skips, the event sources would have run long before."""
    import urllib.request

    if not stack.http_ready(cfg.worker_port):
        return
    last, quiet_since, deadline = -1, time.monotonic(), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{cfg.worker_port}/status", timeout=5) as answer:
            status = json.loads(answer.read())
        delivered = sum(p.get("messages", 0) for p in status.get("mappings", []))
        delivered += sum(p.get("records", 0) for p in status.get("kafka", []) + status.get("streams", []))
        if delivered != last:
            last, quiet_since = delivered, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.5)


def fast_forward(
    cfg: stack.StackConfig,
    as_of: datetime,
    log: Callable[[str], None] = lambda _m: None,
    host: FunctionHost | None = None,
) -> FastForward:
    """host: where the scheduled functions run (one whose output goes elsewhere, to keep their logs out)."""
    log(f"local-retention: sweeping lifecycle and TTL as of {as_of:%Y-%m-%d %H:%M}Z")
    first = sweep(cfg, as_of)
    settle_worker(cfg)
    log(f"local-retention: running the deployed schedules at {as_of:%Y-%m-%d %H:%M}Z")
    scheduled = run_schedules(cfg, as_of, host)
    after = sweep(cfg, as_of)
    return FastForward(as_of.isoformat(), asdict(first), scheduled, asdict(after))


@command(ValueError)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.local.time_travel", description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", default="+8d", help="+<N>d<N>h<N>m from now, or an ISO 8601 time (default +8d)")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    as_of = parse_as_of(args.as_of)
    cfg = stack.StackConfig.from_env()
    if not stack.moto_ready(cfg):
        raise CliError("the local stack is not running: `make up` first")
    result = fast_forward(cfg, as_of, log=print)
    if args.json:
        print(json.dumps(asdict(result), indent=2, default=str))
    else:
        lifecycle = result.lifecycle_and_ttl
        print(
            f"lifecycle: {lifecycle['expired_current']} current versions expired, {lifecycle['removed_noncurrent']} "
            f"noncurrent removed; TTL: {lifecycle['ttl_deleted']} items deleted"
        )
        for function, summary in result.scheduled.items():
            print(f"{function}: {json.dumps(summary, default=str)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
