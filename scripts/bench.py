"""`make bench`: benchmarks, each run side by side with a reference in the same run, reported as ratios.

upload_put  p50/p99 of PUT /v1/images (1 MB JPEG) through the local API gateway — authorizer, validation,
            S3 put, DynamoDB put — against a bare S3 PutObject of the same bytes to the same emulator.
            Needs `make up`. (The image-engine benchmark against pyvips arrives with the processing engine.)
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "60"))


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _time(call: Callable[[], Any], rounds: int) -> list[float]:
    call()  # warm: imports, connections, caches
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def one_megabyte_jpeg() -> bytes:
    from PIL import Image

    noise = Image.frombytes("RGB", (1500, 1125), os.urandom(1500 * 1125 * 3))  # random: JPEG cannot shrink it
    buffer = io.BytesIO()
    noise.save(buffer, format="JPEG", quality=75)  # about 1 MB
    return buffer.getvalue()


def bench_upload_put() -> int:
    import requests

    from scripts import keys, stack, tf

    cfg = stack.StackConfig.from_env()
    try:
        outputs = tf.outputs("local", tf.run_env("local", cfg))
    except tf.TfError as err:
        print(f"bench: {err}", file=sys.stderr)
        return 2
    if "rest_api_id" not in outputs or not stack.http_ready(cfg.api_port):
        print("bench: the local API is not running: run `make up` first", file=sys.stderr)
        return 2
    data = one_megabyte_jpeg()
    key = keys.issue(
        stack.aws_client(cfg, "secretsmanager"),
        str(outputs["api_keys_secret_name"]),
        f"bench-{int(time.time())}",
        "make bench",
    )
    session = requests.Session()
    url = f"http://127.0.0.1:{cfg.api_port}/v1/images"
    headers = {"x-api-key": key, "Content-Type": "image/jpeg"}

    def through_api() -> None:
        response = session.put(url, data=data, headers=headers, timeout=60)
        assert response.status_code == 201, response.text

    s3 = stack.aws_client(cfg, "s3")
    bucket, kms_key = str(outputs["raw_bucket_name"]), str(outputs["kms_key_arn"])

    def bare_put() -> None:
        s3.put_object(
            Bucket=bucket,
            Key=f"raw/bench/{time.time_ns()}",
            Body=data,
            ContentType="image/jpeg",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=kms_key,
        )

    print(f"bench upload_put: {len(data) / 1e6:.2f} MB JPEG, {ROUNDS} rounds each (after one warm-up)")
    api_p50, api_p99 = _percentiles(_time(through_api, ROUNDS))
    s3_p50, s3_p99 = _percentiles(_time(bare_put, ROUNDS))
    print(f"  PUT /v1/images via local gateway   p50 {api_p50:7.1f} ms   p99 {api_p99:7.1f} ms")
    print(f"  bare S3 PutObject (reference)       p50 {s3_p50:7.1f} ms   p99 {s3_p99:7.1f} ms")
    print(f"  ratio (API / reference)             p50 {api_p50 / s3_p50:7.2f} x   p99 {api_p99 / s3_p99:7.2f} x")
    return 0


def main() -> int:
    return bench_upload_put()


if __name__ == "__main__":
    sys.exit(main())
