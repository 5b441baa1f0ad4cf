"""`make demo`: show what `make up` deployed into the local stack, read back from the emulator itself.

Later capabilities extend this to the whole pipeline (ingest → process → export → retention).
"""

from __future__ import annotations

import sys
from typing import Any

from scripts import stack, tf


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
    return lines


def main() -> int:
    cfg = stack.StackConfig.from_env()
    environ = tf.run_env("local", cfg)
    try:
        outputs = tf.outputs("local", environ)
    except tf.TfError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not outputs:
        print("error: nothing deployed in ENV=local yet: run `make up`", file=sys.stderr)
        return 2
    print("\n".join(describe(outputs, cfg)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
