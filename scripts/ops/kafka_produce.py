"""Send image files to the ingestion topic, inline or by claim-check (docs/kafka.md).

    python -m scripts.ops.kafka_produce [--topic images] [--claim-check auto|always|never] [--source-id ID] PATH...

PATH may be files or folders (searched recursively for .jpg .jpeg .png .webp .gif .avif .tif .tiff). The
content-type header comes from the file's magic bytes; the idempotency key is the file's SHA-256, so sending the
same file again is stored once (scoped by --source-id). Files over --max-inline-bytes (or all, with
--claim-check always) are first put under the raw bucket's staging/ prefix with the environment's KMS key.
The broker is KAFKA_BOOTSTRAP_SERVERS, else the local stack's; the bucket and key come from ENV's Terraform
outputs (ENV=local by default).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgpipe import validation

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".tif", ".tiff"})
DEFAULT_MAX_INLINE = 1024 * 1024 - 16 * 1024  # the Kafka default message size, minus room for headers


@dataclass(frozen=True)
class Staging:
    s3: Any
    bucket: str
    prefix: str
    kms_key_arn: str


@dataclass(frozen=True)
class Sent:
    path: Path
    mode: str  # inline | claim-check
    size_bytes: int


class ProduceError(Exception):
    """A file that cannot be sent as asked: the CLI prints it and goes on with the others."""


def image_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def send_file(
    producer: Any,
    topic: str,
    path: Path,
    *,
    staging: Staging | None,
    claim_check: str = "auto",
    max_inline_bytes: int = DEFAULT_MAX_INLINE,
    source_id: str | None = None,
) -> Sent:
    data = path.read_bytes()
    try:
        content_type = validation.sniff(data).mime_type
    except validation.ValidationError as err:
        raise ProduceError(f"{path}: {err.message}") from None
    headers = [
        ("filename", path.name.encode()),
        ("idempotency-key", f"sha256:{hashlib.sha256(data).hexdigest()}".encode()),
    ]
    if source_id:
        headers.append(("source-id", source_id.encode()))
    by_reference = claim_check == "always" or (claim_check == "auto" and len(data) > max_inline_bytes)
    if not by_reference:
        if len(data) > max_inline_bytes:
            raise ProduceError(f"{path}: {len(data)} bytes is over the inline limit of {max_inline_bytes}")
        producer.produce(topic, value=data, headers=[("content-type", content_type.encode()), *headers])
        return Sent(path, "inline", len(data))
    if staging is None:
        raise ProduceError(f"{path}: a claim-check needs the staging bucket (deploy the environment first)")
    # A source stages under its own folder (the topic's, without a source-id): kafka_ingest refuses any other.
    key = f"{staging.prefix}{source_id or topic}/{time.strftime('%Y/%m/%d')}/{uuid.uuid4()}"
    staging.s3.put_object(
        Bucket=staging.bucket,
        Key=key,
        Body=data,
        ContentType=content_type,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=staging.kms_key_arn,
    )
    envelope = {"s3_uri": f"s3://{staging.bucket}/{key}", "content_type": content_type, "filename": path.name}
    producer.produce(topic, value=json.dumps(envelope).encode(), headers=headers)
    return Sent(path, "claim-check", len(data))


def main(argv: list[str] | None = None) -> int:
    import boto3
    from confluent_kafka import Producer

    from scripts.deploy import tf
    from scripts.local import stack

    parser = argparse.ArgumentParser(prog="python -m scripts.ops.kafka_produce", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--topic", default=os.environ.get("IMGPIPE_KAFKA_TOPIC", "images"))
    parser.add_argument("--claim-check", choices=["auto", "always", "never"], default="auto")
    parser.add_argument("--max-inline-bytes", type=int, default=DEFAULT_MAX_INLINE)
    parser.add_argument("--source-id")
    parser.add_argument("--env", default=os.environ.get("ENV", "local"))
    args = parser.parse_args(argv)

    cfg = stack.StackConfig.from_env()
    staging = None
    try:
        outputs = tf.outputs(args.env, tf.run_env(args.env, cfg))
        if outputs:
            client = stack.aws_client(cfg, "s3") if args.env == "local" else boto3.client("s3")
            staging = Staging(client, str(outputs["raw_bucket_name"]), "staging/", str(outputs["kms_key_arn"]))
    except tf.TfError as err:
        print(f"kafka_produce: no claim-checks possible ({err})", file=sys.stderr)
    producer = Producer({"bootstrap.servers": cfg.kafka_bootstrap, "acks": "all", "enable.idempotence": True})
    sent = failed = 0
    for path in image_files(args.paths):
        try:
            result = send_file(
                producer,
                args.topic,
                path,
                staging=staging,
                claim_check=args.claim_check,
                max_inline_bytes=args.max_inline_bytes,
                source_id=args.source_id,
            )
        except (ProduceError, OSError) as err:
            print(f"kafka_produce: skipped {err}", file=sys.stderr)
            failed += 1
            continue
        sent += 1
        print(f"kafka_produce: {result.mode:<11} {result.size_bytes:>9} bytes  {path}", flush=True)
    undelivered = producer.flush(30)
    print(
        f"kafka_produce: {sent} sent to {args.topic} on {cfg.kafka_bootstrap}, "
        f"{failed} skipped, {undelivered} undelivered"
    )
    return 0 if not failed and not undelivered else 1


if __name__ == "__main__":
    sys.exit(main())
