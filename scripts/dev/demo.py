"""`make demo`: show what `make up` deployed into the local stack, read back from the emulator itself, then
send good and bad images through the local API gateway, wait for the local worker to run the processor on them,
and show the renditions (downloaded through the API's links) and what was refused or rejected, and why.

Then images come in through Kafka, and last the clock moves 8 days ahead: S3 lifecycle and DynamoDB TTL as AWS
would apply them (read back from the emulator) and the deployed retention audit leave nothing behind.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from scripts.cli import REPO_ROOT, CliError, command
from scripts.deploy import tf
from scripts.local import stack


def describe(outputs: dict[str, Any], cfg: stack.StackConfig) -> list[str]:
    s3, ddb, sqs = (stack.aws_client(cfg, name) for name in ("s3", "dynamodb", "sqs"))
    lines = [f"imgpipe local stack — AWS emulator {cfg.aws_endpoint}, Kafka broker {cfg.kafka_bootstrap}", ""]
    for key in ("raw_bucket_name", "processed_bucket_name"):
        bucket = str(outputs[key])
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        expiry = [r["Expiration"]["Days"] for r in rules if "Days" in r.get("Expiration", {})]
        sse = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        algo = sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
        lines.append(f"bucket  {bucket:<44} {algo}, objects expire after {expiry[0] if expiry else '?'} days")
    table = ddb.describe_table(TableName=str(outputs["metadata_table_name"]))["Table"]
    ttl = ddb.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
    gsis = ", ".join(g["IndexName"] for g in table.get("GlobalSecondaryIndexes", []))
    lines.append(f"table   {table['TableName']:<44} TTL on {ttl.get('AttributeName')}, GSIs: {gsis}")
    attrs = sqs.get_queue_attributes(
        QueueUrl=str(outputs["raw_events_queue_url"]),
        AttributeNames=["MessageRetentionPeriod", "KmsMasterKeyId"],
    )["Attributes"]
    retention_days = int(attrs["MessageRetentionPeriod"]) / 86400
    queue_name = str(outputs["raw_events_queue_url"]).rsplit("/", 1)[-1]
    lines.append(f"queue   {queue_name:<44} KMS, messages kept {retention_days:g} days")
    lines.append(f"kms     {outputs['kms_alias_name']!s:<44} {outputs['kms_key_arn']}")
    lines.append(
        f"broker  {cfg.kafka_bootstrap:<44} Kafka protocol (Tansu)"
        if not cfg.external_kafka_bootstrap
        else f"broker  {cfg.kafka_bootstrap:<44} external Kafka"
    )
    lines.append(authorization(outputs, cfg))
    return lines


def authorization(outputs: dict[str, Any], cfg: stack.StackConfig) -> str:
    """The authorization matrix over the deployed policies, in one line (the emulator itself checks none)."""
    from scripts.ops.authz import __main__ as authz
    from scripts.ops.authz import documents, matrix

    declared = (outputs.get("authorization") or {}).get("bucket_policies")
    docs = documents.from_aws(lambda s: stack.aws_client(cfg, s), str(outputs["name_prefix"]), declared)
    verdicts = matrix.evaluate_all(matrix.load(), authz.environment_from_outputs(docs, outputs))
    failing = [v.edge.id for v in verdicts if v.decided and not v.holds]
    held = sum(v.decided and v.holds for v in verdicts)
    na = sum(v.outcome == "n/a" for v in verdicts)
    summary = f"{held} edges hold, {na} n/a" + (f", FAILING: {', '.join(failing)}" if failing else "")
    return f"authz   {'python -m scripts.ops.authz':<44} {summary} (policies evaluated offline)"


@command(tf.TfError, stack.StackError)
def main(argv: list[str] | None = None) -> int:
    cfg = stack.StackConfig.from_env()
    outputs = tf.outputs("local", tf.run_env("local", cfg))
    if not outputs:
        raise CliError("nothing deployed in ENV=local yet: run `make up`")
    print("\n".join(describe(outputs, cfg)))
    if "rest_api_id" in outputs:
        print()
        print("\n".join(exercise_api(outputs, cfg)))
    if outputs.get("web_users"):
        print()
        print("\n".join(show_tenants(outputs, cfg)))
    if outputs.get("kafka_event_source"):
        print()
        print("\n".join(exercise_kafka(outputs, cfg)))
    if outputs.get("analytics"):
        print()
        print("\n".join(show_report(outputs, cfg)))
    if outputs.get("retention_audit"):
        print()
        print("\n".join(show_retention(outputs, cfg)))
        if outputs.get("analytics"):
            print("\n".join(show_report(outputs, cfg, after_retention=True)))
    if outputs.get("web_users"):
        print()
        print("\n".join(show_web_app(outputs, cfg)))
    return 0


DEMO_USER, DEMO_TENANT = "demo", "demo-acme"


def show_web_app(outputs: dict[str, Any], cfg: stack.StackConfig) -> list[str]:
    """Where to open the web app, and a login for it: the user `demo` of tenant demo-acme (alice's tenant, whose
    images the retention step above has purged: the gallery starts empty), with a fresh password each run (the
    emulator's pool only; it is gone with `make down`)."""
    from scripts.ops import users

    web = outputs["web_users"]
    cognito = stack.aws_client(cfg, "cognito-idp")
    password = users.generated_password()
    try:
        users.add(cognito, web["user_pool_id"], DEMO_USER, DEMO_TENANT, None, password)
    except users.UserAdminError:  # made by an earlier demo: a new password, the same tenant
        cognito.admin_set_user_password(
            UserPoolId=web["user_pool_id"], Username=DEMO_USER, Password=password, Permanent=True
        )
    return [
        f"web app: http://127.0.0.1:{cfg.api_port}/  (served by the local gateway with the API)",
        f"  sign in as {DEMO_USER} / {password}  (tenant {DEMO_TENANT}, empty after the purge above; a new password"
        " each run)",
    ]


def show_report(outputs: dict[str, Any], cfg: stack.StackConfig, *, after_retention: bool = False) -> list[str]:
    """The BI reports (the Athena SQL on DuckDB) over what the export wrote to the analytics bucket so far."""
    from datetime import UTC, datetime

    from scripts.dev import report

    out = REPO_ROOT / "dist" / "report"
    files, origin = report.deployed_exports(cfg, outputs["analytics"], out / "exports")
    results = report.run_reports(report.connect(out / "exports"), datetime.now(UTC))
    if after_retention:
        rows = ", ".join(f"{r.name} {len(r.rows)}" for r in results)
        return [f"  reports after: {files} export files left; rows per report: {rows}"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text(report.render_html(results, datetime.now(UTC), origin))
    lines = [f"Reports (the Athena named queries' SQL on DuckDB) over {origin}"]
    for result in results:
        lines += ["", report.format_table(result)]
    return [*lines, "", f"HTML report with charts: {out / 'index.html'} (again any time: make report)"]


def show_retention(outputs: dict[str, Any], cfg: stack.StackConfig, days: int = 8) -> list[str]:
    """Moves the clock `days` ahead: lifecycle and TTL as AWS would apply them, then the deployed audit."""
    import subprocess
    from datetime import UTC, datetime, timedelta

    from scripts.local import time_travel as local_retention
    from scripts.local.lambda_host import FunctionHost

    s3, ddb = stack.aws_client(cfg, "s3"), stack.aws_client(cfg, "dynamodb")
    buckets = [str(b) for b in outputs["retention_audit"]["audited_buckets"]]
    table = str(outputs["metadata_table_name"])

    def census() -> str:
        counts = []
        for bucket in buckets:
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
            n = sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in pages)
            counts.append(f"{n} object versions in {bucket}")
        items = sum(p["Count"] for p in ddb.get_paginator("scan").paginate(TableName=table, Select="COUNT"))
        return ", ".join([*counts, f"{items} items in {table}"])

    as_of = datetime.now(UTC) + timedelta(days=days)
    lines = [f"Retention: the clock moved {days} days ahead, to {as_of:%Y-%m-%d %H:%M}Z", f"  before: {census()}"]
    # The audit's own JSON log and EMF lines go nowhere: the summary says what it did.
    quiet = FunctionHost(stack.aws_client(cfg, "lambda"), cfg, output=subprocess.DEVNULL)
    try:
        result = local_retention.fast_forward(cfg, as_of, host=quiet)
    finally:
        quiet.close()
    swept = result.lifecycle_and_ttl
    lines.append(
        f"  S3 lifecycle (rules read back from the emulator): {swept['expired_current']} current versions expired, "
        f"{swept['removed_noncurrent']} noncurrent removed; DynamoDB TTL: {swept['ttl_deleted']} items deleted "
        f"(all of the deployment's tables)"
    )
    audit = result.scheduled.get(str(outputs["retention_audit"]["function_name"]), {})
    lines.append(
        f"  retention_audit ({outputs['retention_audit']['schedule_expression']}): purged "
        f"{sum(audit.get('purged_versions', {}).values())} object versions and delete markers that lifecycle "
        f"would remove only later, and {audit.get('purged_items', 0)} items; {audit.get('violations', '?')} violations"
    )
    lines.append(f"  after:  {census()}")
    return lines


def exercise_kafka(outputs: dict[str, Any], cfg: stack.StackConfig, wait_s: float = 120) -> list[str]:
    """Two images through the Kafka path (one inline, one by claim-check) and one hostile record."""
    import tempfile
    import time
    from pathlib import Path

    from confluent_kafka import Producer

    from scripts.ops.kafka_produce import Staging, send_file

    source = outputs["kafka_event_source"]
    topic = str(source["topic"])
    lines = [
        f"Kafka: topic {topic} on {cfg.kafka_bootstrap}, group {source['consumer_group_id']} "
        f"-> {source['function_name']}"
    ]
    stamp = int(time.time())
    names = {
        f"kafka-photo-{stamp}.jpg": ("JPEG", (1200, 900), "inline"),
        f"kafka-poster-{stamp}.png": ("PNG", (1600, 1200), "always"),
    }
    staging = Staging(
        stack.aws_client(cfg, "s3"), str(outputs["raw_bucket_name"]), "staging/", str(outputs["kms_key_arn"])
    )
    producer = Producer({"bootstrap.servers": cfg.kafka_bootstrap, "acks": "all"})
    with tempfile.TemporaryDirectory() as tmp:
        for name, (fmt, size, mode) in names.items():
            path = Path(tmp) / name
            # A colour of its own per run: the producer's idempotency key is the file's hash, so the same bytes
            # sent again would (rightly) be stored once, not shown again.
            path.write_bytes(_image(fmt, size, (stamp % 256, (stamp // 256) % 256, 200)))
            sent = send_file(
                producer,
                topic,
                path,
                staging=staging,
                claim_check="never" if mode == "inline" else "always",
                source_id="demo",
            )
            lines.append(f"  produce {name:<30} {sent.mode:<11} {sent.size_bytes:>8} bytes")
    producer.produce(
        topic, value=b"<html>not an image</html>", headers=[("content-type", b"image/png"), ("source-id", b"demo")]
    )
    producer.produce(topic, value=b"\x89PNG", headers=[("content-type", b"image/png"), ("source-id", b"stranger")])
    lines.append(f"  produce {'(a record from source-id stranger)':<30} inline")
    lines.append(f"  produce {'(an HTML page claiming image/png)':<30} inline")
    producer.flush(15)

    dynamodb = stack.aws_client(cfg, "dynamodb")
    started = time.monotonic()
    found: dict[str, dict[str, Any]] = {}
    while time.monotonic() - started < wait_s:
        pages = dynamodb.get_paginator("scan").paginate(  # a filter applies per 1 MB page: read them all
            TableName=str(outputs["metadata_table_name"]),
            FilterExpression="filename IN (:a, :b)",
            ExpressionAttributeValues={f":{k}": {"S": n} for k, n in zip("ab", names, strict=True)},
        )
        found = {i["filename"]["S"]: i for page in pages for i in page["Items"]}
        done = sum(1 for i in found.values() if i["status"]["S"] in ("PROCESSED", "REJECTED"))
        print(
            f"\r==> kafka: {done}/{len(names)} processed ({time.monotonic() - started:.0f}s)",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if done == len(names):
            break
        time.sleep(0.5)
    print(file=sys.stderr)
    for name in names:
        item = found.get(name)
        if item is None:
            lines.append(f"  {name:<30} not stored after {wait_s:.0f}s: see .run/worker.log")
            continue
        where = f"{item['kafka_topic']['S']}-{item['kafka_partition']['N']}@{item['kafka_offset']['N']}"
        renditions = len(item.get("renditions", {}).get("M", {}))
        tenant = item.get("tenant_id", {}).get("S", "-")
        lines.append(
            f"  {name:<30} {item['status']['S']:<10} from {where}, {renditions} renditions, "
            f"tenant {tenant}, image {item['image_id']['S']}"
        )
    sqs = stack.aws_client(cfg, "sqs")
    rejected: list[dict[str, Any]] = []
    for _ in range(10):  # the refused records may sit in a later batch than the two images
        rejected += [
            json.loads(m["Body"])
            for m in sqs.receive_message(
                QueueUrl=str(outputs["kafka_rejects_queue_url"]), MaxNumberOfMessages=10, WaitTimeSeconds=2
            ).get("Messages", [])
        ]
        if len(rejected) >= 2:
            break
    for report in rejected:
        lines.append(
            f"  rejected {report['topic']}-{report['partition']}@{report['offset']}: "
            f"{report['reason']} ({report['message']})"
        )
    return lines


def _image(fmt: str, size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def exercise_api(outputs: dict[str, Any], cfg: stack.StackConfig) -> list[str]:
    import time

    import requests

    from scripts.ops import keys

    base = f"http://127.0.0.1:{cfg.api_port}"
    api_key = keys.admin_for(outputs, cfg).issue(f"demo-{int(time.time())}", "make demo")
    auth = {"x-api-key": api_key}
    lines = [f"local API {base} — a fresh demo key was issued into the deployed key registry", ""]

    def show(label: str, response: requests.Response) -> dict[str, Any]:
        body: dict[str, Any] = response.json()
        if "error" in body:
            lines.append(f"  {label:<44} {response.status_code}  refused: {body['error']['code']}")
        else:
            shape = f"{body['width']}x{body['height']} {body.get('format', '')}" if "width" in body else ""
            lines.append(f"  {label:<44} {response.status_code}  {body['status']:<15} {body['image_id']}  {shape}")
        return body

    def put(label: str, filename: str, data: bytes, content_type: str) -> dict[str, Any]:
        response = requests.put(
            f"{base}/v1/images",
            params={"filename": filename},
            data=data,
            headers={**auth, "Content-Type": content_type},
            timeout=30,
        )
        return show(label, response)

    accepted: list[str] = [
        put(
            "PUT /v1/images  photo.jpg (1600x1200)",
            "photo.jpg",
            _image("JPEG", (1600, 1200), (30, 120, 200)),
            "image/jpeg",
        ).get("image_id", ""),
        put(
            "PUT /v1/images  banner.webp (800x600)",
            "banner.webp",
            _image("WEBP", (800, 600), (200, 60, 30)),
            "image/webp",
        ).get("image_id", ""),
    ]
    big = _image("PNG", (1400, 1000), (90, 200, 90))
    presign = requests.post(
        f"{base}/v1/uploads",
        json={"filename": "poster.png", "content_type": "image/png", "size_bytes": len(big)},
        headers=auth,
        timeout=30,
    )
    body = show("POST /v1/uploads poster.png (presigned)", presign)
    if "upload" in body:
        upload = body["upload"]
        sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("poster.png", big)}, timeout=30)
        lines.append(
            f"  {'  → POST bytes to S3 (presigned form)':<44} {sent.status_code}  stored at {upload['fields']['key']}"
        )
        accepted.append(body["image_id"])
    # The presigned path can only be checked after the bytes land: the processor rejects what the API never saw.
    shell = b"\x89PNG\r\n\x1a\n" + b"<?php system($_GET['c']); ?>" * 8
    sneaky = show(
        "POST /v1/uploads shell.png (presigned)",
        requests.post(
            f"{base}/v1/uploads",
            json={"filename": "shell.png", "content_type": "image/png", "size_bytes": len(shell)},
            headers=auth,
            timeout=30,
        ),
    )
    if "upload" in sneaky:
        upload = sneaky["upload"]
        requests.post(upload["url"], data=upload["fields"], files={"file": ("shell.png", shell)}, timeout=30)
        lines.append(f"  {'  → POST a PHP shell with PNG magic bytes':<44} stored at {upload['fields']['key']}")
        accepted.append(sneaky["image_id"])
    put("PUT /v1/images  page.jpg (HTML inside)", "page.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")
    put("PUT /v1/images  PNG declared as JPEG", "fake.jpg", _image("PNG", (10, 10), (0, 0, 0)), "image/jpeg")
    put("PUT /v1/images  empty body", "empty.png", b"", "image/png")
    show("GET /v1/images  without an API key", requests.get(f"{base}/v1/images", timeout=30))
    lines.append("")
    lines += show_processing(base, auth, [image_id for image_id in accepted if image_id])
    return lines


def show_tenants(outputs: dict[str, Any], cfg: stack.StackConfig) -> list[str]:
    """Two web users (Cognito, signed in with real tokens from the emulator's pool) in two tenants: each stores an
    image and sees its own tenant's images only; the other's image is a 404."""
    import time

    import requests

    from scripts.ops import users

    base = f"http://127.0.0.1:{cfg.api_port}"
    web = outputs["web_users"]
    cognito = stack.aws_client(cfg, "cognito-idp")
    run = int(time.time())
    lines = [f"tenants: two web users signed in to user pool {web['user_pool_id']} (Bearer access tokens)"]
    people: dict[str, dict[str, Any]] = {}
    for name, tenant, colour in [("alice", "demo-acme", (220, 40, 40)), ("bob", "demo-bolt", (40, 40, 220))]:
        username, password = f"{name}-{run}", users.generated_password()
        users.add(cognito, web["user_pool_id"], username, tenant, None, password)
        token = users.access_token(cognito, web["web_client_id"], username, password)
        auth = {"Authorization": f"Bearer {token}"}
        stored = requests.put(f"{base}/v1/images", params={"filename": f"{name}.png"},
                              data=_image("PNG", (64, 48), colour),
                              headers={**auth, "Content-Type": "image/png"}, timeout=30).json()  # fmt: skip
        people[name] = {"auth": auth, "tenant": tenant, "image_id": stored.get("image_id", "")}
    for name, me in people.items():
        other = people["bob" if name == "alice" else "alice"]
        seen = set()
        for status in ("RECEIVED", "PROCESSING", "PROCESSED", "REJECTED"):
            page = requests.get(f"{base}/v1/images", params={"status": status, "limit": "100"},
                                headers=me["auth"], timeout=30).json()  # fmt: skip
            seen |= {item["image_id"] for item in page.get("items", [])}
        foreign = requests.get(f"{base}/v1/images/{other['image_id']}", headers=me["auth"], timeout=30)
        lines.append(
            f"  {name} (tenant {me['tenant']}): lists {len(seen)} image(s), its own "
            f"{'included' if me['image_id'] in seen else 'MISSING'}, {other['tenant']}'s "
            f"{'LEAKED' if other['image_id'] in seen else 'absent'}; GET of it → {foreign.status_code}"
        )
    return lines


def show_processing(base: str, auth: dict[str, str], image_ids: list[str], wait_s: float = 120) -> list[str]:
    """Waits for the local worker to finish every image, then shows renditions and rejections."""
    import io
    import time

    import requests
    from PIL import Image

    started = time.monotonic()
    final: dict[str, dict[str, Any]] = {}
    while len(final) < len(image_ids) and time.monotonic() - started < wait_s:
        for image_id in image_ids:
            if image_id not in final:
                body = requests.get(f"{base}/v1/images/{image_id}", headers=auth, timeout=30).json()
                if body.get("status") in ("PROCESSED", "REJECTED"):
                    final[image_id] = body
        print(
            f"\r==> processing: {len(final)}/{len(image_ids)} done ({time.monotonic() - started:.0f}s)",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if len(final) < len(image_ids):
            time.sleep(0.5)
    print(file=sys.stderr)
    lines = [f"processing (local worker → image_processor): {len(final)}/{len(image_ids)} images finished"]
    for image_id in image_ids:
        body = final.get(image_id)
        if body is None:
            lines.append(
                f"  {image_id}  still not processed after {wait_s:.0f}s: see `make status` and .run/worker.log"
            )
            continue
        name = body.get("filename", "-")
        if body["status"] == "REJECTED":
            lines.append(
                f"  {image_id}  {name:<12} REJECTED  {body['reject_reason']}: {body.get('reject_message', '')}"
            )
            continue
        total_ms = sum(body.get("processing_ms", {}).values())
        lines.append(
            f"  {image_id}  {name:<12} PROCESSED {body['width']}x{body['height']} {body['format']}, "
            f"{total_ms} ms, phash {body['phash']}, dominant {body['dominant_color']}"
        )
        for rendition, link in sorted(body.get("links", {}).items()):
            record = body["renditions"][rendition]
            downloaded = requests.get(link, timeout=30)
            with Image.open(io.BytesIO(downloaded.content)) as image:
                check = f"link → {len(downloaded.content)} bytes, a {image.format} of {image.size[0]}x{image.size[1]}"
            lines.append(
                f"      {rendition:<11} {record['width']:>5}x{record['height']:<5} {record['format']:<5} "
                f"{record['size_bytes']:>7} bytes   {check}"
            )
    return lines


if __name__ == "__main__":
    sys.exit(main())
