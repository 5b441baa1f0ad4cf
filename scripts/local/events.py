"""AWS-shaped events for invoking handlers locally: the shapes AWS sends, built in one place.

Used by the local runtime (which feeds deployed functions) and by the tests, so both exercise the same shape.
"""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus


def api_gateway_proxy_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
    headers: dict[str, list[str]] | None = None,
    body: bytes | str | None = None,
    binary: bool = False,
    authorizer: dict[str, Any] | None = None,
    stage: str = "v1",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway REST (v1) Lambda proxy event, multi-value headers and query strings included."""
    headers = headers or {}
    query = query or {}
    if isinstance(body, bytes) and binary:
        encoded: str | None = base64.b64encode(body).decode()
    elif isinstance(body, bytes):
        # A text body that is not UTF-8 (an image sent as text/plain or without a binary media type) reaches
        # the function with the bad bytes replaced, never as a failure of the gateway itself.
        encoded = body.decode("utf-8", errors="replace")
    else:
        encoded = body
    request_id = str(uuid.uuid4())
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": {k: v[-1] for k, v in headers.items()} or None,
        "multiValueHeaders": headers or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method.upper(),
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", [""])[-1]},
            "authorizer": authorizer,
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
        },
        "body": encoded,
        "isBase64Encoded": bool(binary and body is not None),
    }


def lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS API message attributes -> the shape Lambda puts in an SQS event record."""
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
        for name, value in attributes.items()
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS poller sends a function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": lambda_message_attributes(m.get("MessageAttributes", {})),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def s3_object_created(
    bucket: str, key: str, size: int, event_name: str = "ObjectCreated:Put", version_id: str | None = None
) -> dict[str, Any]:
    """The body S3 sends a queue for one new object (key URL-encoded, as S3 does; versionId in a versioned
    bucket)."""
    written: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": "0", "sequencer": "0"}
    if version_id:
        written["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:LOCAL"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16], "x-amz-id-2": "local"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "raw-events",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "LOCAL"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": written,
                },
            }
        ]
    }


def msk_record(
    topic: str,
    partition: int,
    offset: int,
    value: bytes | None,
    headers: list[tuple[str, bytes]] | None = None,
    key: bytes | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """One record as the MSK / self-managed Kafka event source puts it in an event: base64 key and value,
    headers as a list of single-entry maps from name to the value's bytes as a list of Java's signed bytes
    (-128..127: what MSK sends for anything outside ASCII)."""
    record: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
        "timestampType": "CREATE_TIME",
        "headers": [{name: [b - 256 if b > 127 else b for b in data]} for name, data in headers or []],
    }
    if key is not None:
        record["key"] = base64.b64encode(key).decode()
    if value is not None:
        record["value"] = base64.b64encode(value).decode()
    return record


def msk_event(records: list[dict[str, Any]], cluster_arn: str | None = None, bootstrap: str = "") -> dict[str, Any]:
    """The event the Kafka event source sends a function: records grouped under "<topic>-<partition>"."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(f"{record['topic']}-{record['partition']}", []).append(record)
    event: dict[str, Any] = {
        "eventSource": "aws:kafka" if cluster_arn else "SelfManagedKafka",
        "bootstrapServers": bootstrap,
        "records": grouped,
    }
    if cluster_arn:
        event["eventSourceArn"] = cluster_arn
    return event


def scheduled_event(rule_arn: str, at: datetime) -> dict[str, Any]:
    """The event an EventBridge schedule rule sends its targets (detail-type "Scheduled Event")."""
    _, _, _, region, account, _ = rule_arn.split(":", 5)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def dynamodb_stream_record(
    event_name: str,
    keys: dict[str, Any],
    new_image: dict[str, Any] | None,
    old_image: dict[str, Any] | None,
    sequence: str,
    at: datetime,
    stream_arn: str,
    by_ttl: bool = False,
) -> dict[str, Any]:
    """One record of a NEW_AND_OLD_IMAGES DynamoDB stream as Lambda delivers it (attribute values typed)."""
    from boto3.dynamodb.types import TypeSerializer

    serialize = TypeSerializer().serialize
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": int(at.timestamp()),
        "Keys": {k: serialize(v) for k, v in keys.items()},
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        stream["NewImage"] = {k: serialize(v) for k, v in new_image.items()}
    if old_image is not None:
        stream["OldImage"] = {k: serialize(v) for k, v in old_image.items()}
    record: dict[str, Any] = {
        "eventID": str(uuid.uuid4()),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": stream_arn.split(":")[3],
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }
    if by_ttl:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record
