"""`make bench`: benchmarks, each run side by side with a reference in the same run, reported as ratios.

    python -m scripts.dev.bench [engine] [hostile] [upload] [throughput] [kafka] [imports]      (all by default)

engine      the processing engine (imgpipe.engine, Pillow) against a pyvips cascade doing the same renditions,
            on generated inputs (24 MP JPEG ~10 MB, 12 MP JPEG, 12 MP PNG, 12 MP WebP, animated GIF), each
            implementation in its own process pinned to one core (VIPS_CONCURRENCY=1); time per image, peak RSS
            of a cold single run; plus the processor's cold import time and zip size. Needs no stack.
upload      p50/p99 of PUT /v1/images (1 MB JPEG) through the local API gateway — authorizer, validation,
            S3 put, DynamoDB put — against a bare S3 PutObject of the same bytes to the same emulator; then
            8 clients at once against one (target: p50 <= 2x).
throughput  images/minute through the local stack's processing (S3 events, SQS, local worker, processor) of a
            burst uploaded through the API, against what the engine alone could do on this machine's cores.
hostile     the slowest file of the adversarial set (tests/adversarial.py: structure attacks, and decompression
            bombs within the caps) through validate + process on one core, against the median of a normal 24 MP
            JPEG in the same run (target: no input <= 10 MiB costs more than 2x that photo). Needs no stack.
kafka       records/s of ~100 KB images through the local Kafka event source and kafka_ingest into the emulator,
            against the same S3 + DynamoDB writes in a tight loop (target ratio >= 0.8).
            upload and kafka pause the local worker while they time (processing runs on compute of its own on
            AWS; here it would take the ingest's cores); throughput times processing itself.
imports     each handler's cold import (a fresh interpreter, as Lambda's init runs it) against a bare
            `import boto3` in the same run, interleaved; median of BENCH_IMPORT_RUNS (target: <= 2x). No stack.
            upload, throughput and kafka need `make up`; without it they are skipped with a message.
What each run measured is also merged into dist/bench/results.json (`python -m scripts.dev.cost` prices it).
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scripts.cli import REPO_ROOT, CliError, command

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "60"))
RESULTS_FILE = "dist/bench/results.json"
# What this run measured, by benchmark: merged into RESULTS_FILE at the end (a benchmark not run keeps its last).
RESULTS: dict[str, dict[str, Any]] = {}


def save_results(path: Any = None) -> Any:
    import json
    from datetime import UTC, datetime
    from pathlib import Path

    target = Path(path or REPO_ROOT / RESULTS_FILE)
    merged = json.loads(target.read_text()) if target.is_file() else {}
    stamp = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count()}
    merged.update({name: {**stamp, **values} for name, values in RESULTS.items()})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return target


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


def deployed_stack(
    bench: str, ready: Callable[[dict[str, Any], Any], bool], what: str
) -> tuple[Any, dict[str, Any]] | None:
    """The local stack's config and ENV=local's outputs when `ready` says the bench can run on them; else None,
    with a line saying why the bench is skipped (benches that need `make up` never fail without it)."""
    from scripts.deploy import tf
    from scripts.local import stack

    cfg = stack.StackConfig.from_env()
    try:
        outputs = tf.outputs("local", tf.run_env("local", cfg))
    except tf.TfError as err:
        print(f"bench {bench}: skipped: {err}", file=sys.stderr)
        return None
    if not ready(outputs, cfg):
        print(f"bench {bench}: skipped: no {what} is running (run `make up`)", file=sys.stderr)
        return None
    return cfg, outputs


@contextlib.contextmanager
def processing_paused(cfg: Any) -> Any:
    """The local worker (the processor's pollers, their functions, the ECS tasks) stopped while an ingest path is
    timed: on AWS processing runs on compute of its own, here it would take the ingest's cores. SIGCONT resumes it
    where it was (what it had received stays invisible meanwhile, well within the visibility timeout)."""
    import signal

    from scripts.local import stack

    record = stack.Record.load(stack.record_path(cfg, "worker"))
    if record is None or not stack.is_ours(record):
        yield
        return
    os.killpg(record.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(record.pid, signal.SIGCONT)


def bench_upload_put() -> int:
    import requests

    from scripts.local import stack
    from scripts.ops import keys

    found = deployed_stack("upload", lambda o, c: "rest_api_id" in o and stack.http_ready(c.api_port), "local API")
    if found is None:
        return 0
    cfg, outputs = found
    data = one_megabyte_jpeg()
    key = keys.admin_for(outputs, cfg).issue(f"bench-{int(time.time())}", "make bench")
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

    print(
        f"bench upload_put: {len(data) / 1e6:.2f} MB JPEG, {ROUNDS} rounds each (after one warm-up), "
        "processing paused meanwhile"
    )
    with processing_paused(cfg):
        api_p50, api_p99 = _percentiles(_time(through_api, ROUNDS))
        s3_p50, s3_p99 = _percentiles(_time(bare_put, ROUNDS))
        parallel_p50, parallel_p99 = _percentiles(_parallel_puts(url, data, headers, PARALLEL_CLIENTS, ROUNDS))
    RESULTS["upload"] = {
        "api_p50_ms": api_p50,
        "api_p99_ms": api_p99,
        "s3_put_p50_ms": s3_p50,
        "parallel_clients": PARALLEL_CLIENTS,
        "parallel_p50_ms": parallel_p50,
        "parallel_p99_ms": parallel_p99,
    }
    print(f"  PUT /v1/images via local gateway   p50 {api_p50:7.1f} ms   p99 {api_p99:7.1f} ms")
    print(f"  bare S3 PutObject (reference)       p50 {s3_p50:7.1f} ms   p99 {s3_p99:7.1f} ms")
    print(f"  ratio (API / reference)             p50 {api_p50 / s3_p50:7.2f} x   p99 {api_p99 / s3_p99:7.2f} x")
    at_once = f"{PARALLEL_CLIENTS} clients at once, each request"
    print(f"  {at_once:<35} p50 {parallel_p50:7.1f} ms   p99 {parallel_p99:7.1f} ms")
    print(
        f"  ratio ({PARALLEL_CLIENTS} clients / one client)         p50 {parallel_p50 / api_p50:7.2f} x   "
        f"target <= {PARALLEL_TARGET:g}"
    )
    return 0


PARALLEL_CLIENTS = 8
PARALLEL_TARGET = 2.0  # a request's p50 with 8 clients at once / with one (issue #22)


def _parallel_puts(url: str, data: bytes, headers: dict[str, str], clients: int, rounds: int) -> list[float]:
    """Latency of each request while `clients` clients, each on its own connection, PUT at once: what the
    gateway and the functions' concurrency give a web app's parallel uploads. A throttled or failed request
    fails the bench."""
    import threading

    import requests

    samples: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client() -> None:
        session = requests.Session()
        session.put(url, data=data, headers=headers, timeout=60).raise_for_status()  # warm: its connection
        start.wait()
        mine = []
        for _ in range(max(1, rounds // clients)):
            began = time.perf_counter()
            response = session.put(url, data=data, headers=headers, timeout=60)
            mine.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 201, response.text
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(samples) < clients:
        raise CliError("bench upload_put: a parallel client failed (see above)")
    return samples


# ---------------------------------------------------------------------------------------------- engine

ENGINE_ROUNDS = int(os.environ.get("BENCH_ENGINE_ROUNDS", "5"))
TARGETS = {"jpeg_24mp": 1.0, "png_12mp": 1.3}  # engine / pyvips time ratio, from the processing issue


def synthetic_photo(width: int, height: int, grain: int, seed: int = 7) -> Any:
    """Smooth gradients and shapes (compressible, like a scene) plus grain (which is what makes photos big)."""
    import random

    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)  # noqa: S311 -- reproducible test content, not secrets
    base = Image.linear_gradient("L").resize((width, height))
    image = Image.merge(
        "RGB", (base, base.rotate(90).resize((width, height)), base.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(min(width, height) // 20, min(width, height) // 4)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    image = image.filter(ImageFilter.GaussianBlur(3))
    if grain:
        noise = Image.merge("RGB", [Image.effect_noise((width, height), grain) for _ in range(3)])
        image = Image.blend(image, noise, 0.25)
    return image


def engine_inputs(directory: Any) -> dict[str, Any]:
    """The benchmark's inputs, generated once per run (deterministic content)."""
    from PIL import Image

    made = {}

    def save(name: str, image: Any, fmt: str, **options: Any) -> None:
        path = directory / f"{name}.{fmt.lower()}"
        image.save(path, format=fmt, **options)
        made[name] = path

    save("jpeg_24mp", synthetic_photo(6000, 4000, grain=44), "JPEG", quality=93)
    twelve = synthetic_photo(4000, 3000, grain=40)
    save("jpeg_12mp", twelve, "JPEG", quality=90)
    save("png_12mp", synthetic_photo(4000, 3000, grain=0), "PNG")
    save("webp_12mp", twelve, "WEBP", quality=85)
    frames = [
        synthetic_photo(480, 360, grain=0, seed=n).convert("P", palette=Image.Palette.ADAPTIVE) for n in range(24)
    ]
    path = directory / "gif_animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0)
    made["gif_animated"] = path
    return made


def _engine_run(impl: str, path: Any, rounds: int, cpu: int) -> dict[str, Any]:
    import json
    import subprocess

    env = {**os.environ, "VIPS_CONCURRENCY": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "scripts.dev.bench_engine", impl, str(path), str(rounds), str(cpu)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{impl} on {path.name} failed:\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def cold_import_ms(runs: int = 5) -> float:
    """Median time to import the processor's handler in a fresh interpreter (what a cold start pays)."""
    import subprocess

    handler = REPO_ROOT / "lambdas" / "image_processor" / "handler.py"
    code = (
        "import importlib.util, time; t = time.perf_counter(); "
        f"spec = importlib.util.spec_from_file_location('handler', {str(handler)!r}); "
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
        "print((time.perf_counter() - t) * 1000)"
    )
    # As Lambda runs it: with LAMBDA_TASK_ROOT set, the X-Ray SDK (under Powertools' Tracer) takes its local
    # sampler instead of building a botocore X-Ray client at import (~115 ms that no Lambda cold start pays).
    env = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(handler.parent),
        "AWS_LAMBDA_FUNCTION_NAME": "imgpipe-bench-image_processor",
    }
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def bench_engine() -> int:
    import tempfile
    from pathlib import Path

    from scripts.deploy import package

    cpu = sorted(os.sched_getaffinity(0))[-1]
    with tempfile.TemporaryDirectory(prefix="imgpipe-bench-") as tmp:
        print("bench engine: generating inputs ...", flush=True)
        inputs = engine_inputs(Path(tmp))
        print(
            f"bench engine: imgpipe.engine (Pillow) vs pyvips cascade, 4 renditions each, core {cpu} only, "
            f"{ENGINE_ROUNDS} rounds after a warm-up; peak RSS of one cold run"
        )
        print(
            f"  {'input':<14}{'bytes':>11}  {'imgpipe ms':>10}  {'pyvips ms':>10}  {'ratio':>6}  "
            f"{'imgpipe RSS':>11}  {'pyvips RSS':>10}  target"
        )
        for name, path in inputs.items():
            ours = _engine_run("imgpipe", path, ENGINE_ROUNDS, cpu)
            ref = _engine_run("pyvips", path, ENGINE_ROUNDS, cpu)
            ours_rss = _engine_run("imgpipe", path, 0, cpu)["peak_rss_mb"]
            ref_rss = _engine_run("pyvips", path, 0, cpu)["peak_rss_mb"]
            ours_ms, ref_ms = statistics.median(ours["ms"]), statistics.median(ref["ms"])
            RESULTS.setdefault("engine", {})[name] = {"ms": ours_ms, "pyvips_ms": ref_ms, "bytes": path.stat().st_size}
            ratio = ours_ms / ref_ms
            target = TARGETS.get(name)
            verdict = "" if target is None else f"<= {target}: {'met' if ratio <= target else 'MISSED'}"
            print(
                f"  {name:<14}{path.stat().st_size:>11}  {ours_ms:>10.1f}  {ref_ms:>10.1f}  {ratio:>6.2f}  "
                f"{ours_rss:>8.1f} MB  {ref_rss:>7.1f} MB  {verdict}"
            )
    import_ms = cold_import_ms()
    print(f"  image_processor cold import (median of 5 fresh interpreters): {import_ms:.0f} ms   target <= 150 ms")
    built = {b.function: b for b in package.build(REPO_ROOT / "lambdas", REPO_ROOT / "dist" / "lambda", "arm64")}
    size = built["image_processor"].size
    # AWS states Lambda package limits in MiB ("50 MB" zipped = 52,428,800 bytes); both units shown.
    print(
        f"  image_processor.zip (arm64): {size} bytes = {size / 2**20:.2f} MiB ({size / 1e6:.2f} MB)   target <= 10 MiB"
    )
    return 0


# ---------------------------------------------------------------------------------------------- hostile

HOSTILE_TARGET = 2.0  # worst input / normal 24 MP photo, from the hostile-input issue


def _engine_ms(data: bytes, rounds: int) -> float:
    from imgpipe import engine
    from imgpipe.validation import ValidationError

    def once() -> None:
        with contextlib.suppress(ValidationError):
            engine.process(data)

    return statistics.median(_time(once, rounds))


def bench_hostile() -> int:
    from tests import adversarial

    cpu = sorted(os.sched_getaffinity(0))[-1]
    os.sched_setaffinity(0, {cpu})
    print("bench hostile: generating the adversarial set and a 24 MP photo ...", flush=True)
    photo = io.BytesIO()
    synthetic_photo(6000, 4000, grain=44).save(photo, "JPEG", quality=93)
    reference_ms = _engine_ms(photo.getvalue(), ENGINE_ROUNDS)
    groups = {"structure attacks": adversarial.attacks(), "bombs within the caps": adversarial.at_the_caps()}
    print(f"bench hostile: validate + process on core {cpu}, median of 3 after a warm-up; 24 MP JPEG reference")
    print(f"  {'reference: 24 MP JPEG':<36}{len(photo.getvalue()):>11}  {reference_ms:>9.1f} ms")
    worst: dict[str, tuple[float, str]] = {}
    for group, cases in groups.items():
        for case in cases:
            ms = _engine_ms(case.data, 3)
            print(f"  {case.name:<36}{len(case.data):>11}  {ms:>9.1f} ms  {ms / reference_ms:>6.2f} x")
            worst[group] = max(worst.get(group, (0.0, "")), (ms, case.name))
    for group, (ms, name) in worst.items():
        ratio = ms / reference_ms
        verdict = "met" if ratio <= HOSTILE_TARGET else "MISSED"
        print(f"  worst of {group:<27}{ratio:>6.2f} x ({name})   target <= {HOSTILE_TARGET}: {verdict}")
        RESULTS.setdefault("hostile", {})[group] = {"worst_ms": ms, "worst": name, "ratio": round(ratio, 2)}
    RESULTS["hostile"]["reference_24mp_jpeg_ms"] = reference_ms
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return 0


# ---------------------------------------------------------------------------------------------- throughput

THROUGHPUT_IMAGES = int(os.environ.get("BENCH_THROUGHPUT_IMAGES", "24"))


def _wait_for_empty_queues(sqs: Any, queue_urls: list[str], limit_s: float = 900) -> None:
    """Until no message waits or is in flight in any of the processor's queues: a backlog left by an earlier bench
    (upload's and kafka's images queue while processing is paused) would be processed inside the timed burst."""
    began = time.perf_counter()
    while True:
        left = 0
        for url in queue_urls:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            left += sum(int(value) for value in attributes.values())
        waited = time.perf_counter() - began
        if left == 0:
            if waited >= 1:
                print()
            return
        if waited > limit_s:
            raise CliError(
                f"bench throughput: {left} messages still queued for processing after {limit_s:.0f} s; "
                "is the local worker running? (make status)"
            )
        print(f"\r  waiting for the worker's backlog: {left} messages ({waited:.0f}s)", end="", flush=True)
        time.sleep(1)


def _watch_until_final(dynamodb: Any, table: str, ids: list[str], limit_s: float = 600) -> dict[str, datetime]:
    """When each image reached PROCESSED or REJECTED, from the item's own time of that transition. The bench
    watches the table with one BatchGetItem a quarter second, three attributes per item, rather than a GET per
    image through the API (52 ms of CPU each across gateway, functions and emulator, measured): the observer
    would take the cores it times, and a round of 24 GETs (2 s) would blur when the last image finished."""
    from imgpipe.models import ImageStatus

    done = {ImageStatus.PROCESSED.value, ImageStatus.REJECTED.value}
    final: dict[str, datetime] = {}
    began = time.perf_counter()
    deadline = began + limit_s
    while len(final) < len(ids) and time.perf_counter() < deadline:
        pending = [image_id for image_id in ids if image_id not in final]
        for start in range(0, len(pending), 100):  # BatchGetItem's limit
            keys = [{"image_id": {"S": image_id}} for image_id in pending[start : start + 100]]
            request = {
                table: {
                    "Keys": keys,
                    "ConsistentRead": True,
                    # Only what is watched: a whole item (renditions, timings) costs the emulator more to answer.
                    "ProjectionExpression": "image_id, #status, processed_at",
                    "ExpressionAttributeNames": {"#status": "status"},
                }
            }
            while request:
                answer = dynamodb.batch_get_item(RequestItems=request)
                for item in answer["Responses"].get(table, []):
                    status = item["status"]["S"]
                    if status in done:
                        # A rejection carries no processed_at: the time it was seen bounds it instead.
                        when = item.get("processed_at", {}).get("S")
                        seen = datetime.fromisoformat(when.replace("Z", "+00:00")) if when else datetime.now(UTC)
                        final[item["image_id"]["S"]] = seen
                request = answer.get("UnprocessedKeys") or {}
        print(f"\r  {len(final)}/{len(ids)} processed ({time.perf_counter() - began:.0f}s)", end="", flush=True)
        if len(final) < len(ids):
            time.sleep(0.25)
    print()
    return final


def bench_throughput() -> int:
    """Uploads a burst of 8 MP JPEGs through the local API and times them until every one is PROCESSED."""
    import tempfile
    from pathlib import Path

    import requests

    from scripts.local import stack
    from scripts.ops import keys

    found = deployed_stack(
        "throughput", lambda o, c: "processor_function_name" in o and stack.http_ready(c.worker_port), "local worker"
    )
    if found is None:
        return 0
    cfg, outputs = found
    key = keys.admin_for(outputs, cfg).issue(f"bench-tp-{int(time.time())}", "make bench")
    buffer = io.BytesIO()
    synthetic_photo(3264, 2448, grain=40).save(buffer, format="JPEG", quality=85)
    data = buffer.getvalue()
    scratch = tempfile.TemporaryDirectory()
    path = Path(scratch.name) / "in.jpg"
    path.write_bytes(data)
    core = sorted(os.sched_getaffinity(0))[-1]
    # The reference is timed before and after the burst: on a shared machine the engine's time drifts by a third
    # within minutes (194-274 ms in four runs of one hour), and one side of the ratio alone would carry it.
    engine_runs = list(_engine_run("imgpipe", path, 3, core)["ms"])
    session = requests.Session()
    base = f"http://127.0.0.1:{cfg.api_port}"
    headers = {"x-api-key": key, "Content-Type": "image/jpeg"}
    # One image through first, untimed: a worker just started by `make up` spends its first seconds importing
    # and loading the function (measured: 61.5 vs 173.8 images/min without and with this warm-up).
    warm = session.put(f"{base}/v1/images", params={"filename": "warm.jpg"}, data=data, headers=headers, timeout=60)
    assert warm.status_code == 201, warm.text
    warm_deadline = time.perf_counter() + 120
    while time.perf_counter() < warm_deadline:
        warm_status = session.get(
            f"{base}/v1/images/{warm.json()['image_id']}", headers={"x-api-key": key}, timeout=60
        ).json()["status"]
        if warm_status in ("PROCESSED", "REJECTED"):
            break
        time.sleep(0.5)
    queues = [str(outputs["raw_events_queue_url"])]
    workers = (outputs.get("processing") or {}).get("workers") or {}
    if workers.get("queue_url"):  # containers or split mode
        queues.append(str(workers["queue_url"]))
    _wait_for_empty_queues(stack.aws_client(cfg, "sqs"), queues)
    ids = []
    # The burst is uploaded while processing is paused, then processing alone is timed: on AWS the API's
    # functions do not share the processor's cores, here the uploads would take them.
    with processing_paused(cfg):
        for n in range(THROUGHPUT_IMAGES):
            response = session.put(
                f"{base}/v1/images", params={"filename": f"tp{n}.jpg"}, data=data, headers=headers, timeout=60
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["image_id"])
        released = datetime.now(UTC)
    finished = _watch_until_final(stack.aws_client(cfg, "dynamodb"), str(outputs["metadata_table_name"]), ids)
    engine_runs += _engine_run("imgpipe", path, 3, core)["ms"]
    scratch.cleanup()
    engine_ms = statistics.median(engine_runs)
    pending = set(ids) - set(finished)
    if not finished:
        raise CliError(f"bench throughput: none of the {len(ids)} images was processed; see `make status`")
    elapsed = (max(finished.values()) - released).total_seconds()
    cores = len(os.sched_getaffinity(0))
    per_minute = (len(ids) - len(pending)) / elapsed * 60
    ceiling = cores * 60_000 / engine_ms
    RESULTS["throughput"] = {
        "images_per_minute": per_minute,
        "engine_ms": engine_ms,
        "worker_cores": cores,
        "image_bytes": len(data),
    }
    print(
        f"bench throughput: a burst of {len(ids)} uploaded {len(data) / 1e6:.1f} MB 8 MP JPEGs, from the worker's "
        "release to every one PROCESSED"
    )
    print(f"  end to end                 {per_minute:7.1f} images/min ({elapsed:.1f} s)")
    print(
        f"  engine ceiling ({cores} cores)   {ceiling:7.1f} images/min (engine alone {engine_ms:.0f} ms per image, "
        f"median of {len(engine_runs)} runs before and after)"
    )
    print(f"  ratio                      {per_minute / ceiling:7.2f}")
    return 0 if not pending else 1


# ---------------------------------------------------------------------------------------------- kafka

KAFKA_RECORDS = int(os.environ.get("BENCH_KAFKA_RECORDS", "600"))


def bench_kafka() -> int:
    """Records/s of ~100 KB images through the local Kafka event source into the emulator (consume, MSK event,
    kafka_ingest: validate, idempotency record, S3 put, DynamoDB put, commit) against the same S3 + DynamoDB
    writes in a tight loop."""
    import subprocess

    from confluent_kafka import Producer

    from imgpipe.adapters.metadata_table import MetadataTable
    from imgpipe.adapters.object_store import ObjectStore
    from imgpipe.ids import new_image_id
    from imgpipe.models import ImageItem, ImageStatus, Source
    from scripts.local import stack
    from scripts.local.event_sources.kafka import KafkaMapping, KafkaPoller, ensure_topic
    from scripts.local.lambda_host import FunctionHost

    found = deployed_stack("kafka", lambda o, _c: isinstance(o.get("kafka_event_source"), dict), "Kafka source")
    if found is None:
        return 0
    cfg, outputs = found
    source = outputs["kafka_event_source"]
    buffer = io.BytesIO()
    synthetic_photo(640, 480, grain=40).save(buffer, format="JPEG", quality=90)  # about 100 KB
    data = buffer.getvalue()
    topic = f"bench-{int(time.time())}"
    ensure_topic(cfg.kafka_bootstrap, topic, partitions=3)
    producer = Producer({"bootstrap.servers": cfg.kafka_bootstrap, "acks": "all"})
    for n in range(KAFKA_RECORDS):
        producer.produce(topic, value=data, partition=n % 3, headers=[("content-type", b"image/jpeg")])
    producer.flush(30)

    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # a log line per record would be most of the output
    # The function's EMF metric documents would be most of the output.
    host = FunctionHost(stack.aws_client(cfg, "lambda"), cfg, output=subprocess.DEVNULL)
    mapping = KafkaMapping(
        str(source["function_name"]),
        cfg.kafka_bootstrap,
        (topic,),
        f"bench-{topic}",
        batch_size=int(source["batch_size"]),
        batching_window_s=float(source["batching_window_seconds"]),
    )
    poller = KafkaPoller(mapping, host, log=lambda _m: None)
    raw = ObjectStore(stack.aws_client(cfg, "s3"), str(outputs["raw_bucket_name"]), str(outputs["kms_key_arn"]))
    table = MetadataTable(stack.aws_client(cfg, "dynamodb"), str(outputs["metadata_table_name"]))
    with processing_paused(cfg):
        poller.start()
        first_batch = 0
        while first_batch == 0:  # joining the group and the first fetch are not ingestion work: untimed
            first_batch = poller.poll_once()
        started = time.perf_counter()
        while poller.stats.records < KAFKA_RECORDS:
            poller.poll_once()
        kafka_s = time.perf_counter() - started
        timed = KAFKA_RECORDS - first_batch
        poller.close()
        host.close()

        started = time.perf_counter()
        for _ in range(KAFKA_RECORDS):
            image_id = new_image_id()
            item = ImageItem.new(image_id, Source.KAFKA, ImageStatus.RECEIVED, f"bench/{image_id}")
            raw.put(item.raw_key, data, "image/jpeg")
            table.put_new(item)
        loop_s = time.perf_counter() - started
    print(
        f"bench kafka: {KAFKA_RECORDS} x {len(data) / 1e3:.0f} KB JPEG records, 3 partitions, "
        f"batch {mapping.batch_size}"
    )
    RESULTS["kafka"] = {
        "records_per_s": timed / kafka_s,
        "record_bytes": len(data),
        "loop_records_per_s": KAFKA_RECORDS / loop_s,
    }
    print(f"  local Kafka event source -> kafka_ingest   {timed / kafka_s:7.1f} records/s")
    print(f"  tight loop S3 put + DynamoDB put           {KAFKA_RECORDS / loop_s:7.1f} records/s (reference)")
    ratio = (timed / kafka_s) / (KAFKA_RECORDS / loop_s)
    print(f"  ratio                                      {ratio:7.2f}   target >= 0.8")
    return 0


# ---------------------------------------------------------------------------------------------- imports

IMPORT_RUNS = int(os.environ.get("BENCH_IMPORT_RUNS", "9"))
IMPORT_TARGET = 2.0  # a handler's cold import / a bare `import boto3` (issue #20)


def bench_imports() -> int:
    import subprocess

    lambdas = REPO_ROOT / "lambdas"
    timed = "import time; t = time.perf_counter(); {}; print((time.perf_counter() - t) * 1000)"
    load = "import importlib.util as u; s = u.spec_from_file_location('h', {!r}); "
    load += "s.loader.exec_module(u.module_from_spec(s))"
    codes = {"boto3": timed.format("import boto3")}
    codes |= {p.parent.name: timed.format(load.format(str(p))) for p in sorted(lambdas.glob("*/handler.py"))}
    samples: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(IMPORT_RUNS):  # interleaved: load on the machine falls on the reference and the handlers alike
        for name, code in codes.items():
            # As Lambda's init runs it: tracing on, a task root (the X-Ray SDK's local sampler), no settings read.
            env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "false"}
            env |= {"LAMBDA_TASK_ROOT": str(lambdas / name), "AWS_LAMBDA_FUNCTION_NAME": f"imgpipe-{name}"}
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
            samples[name].append(float(out.stdout.strip().splitlines()[-1]))
    reference = statistics.median(samples.pop("boto3"))
    print(f"bench imports: cold import, median of {IMPORT_RUNS} fresh interpreters each, against a bare `import boto3`")
    print(f"  import boto3 (reference)   {reference:7.0f} ms")
    RESULTS["imports"] = {"boto3_ms": reference}
    for name, runs in samples.items():
        ms = statistics.median(runs)
        verdict = "meets" if ms / reference <= IMPORT_TARGET else "MISSES"
        print(f"  {name:<26} {ms:7.0f} ms   {ms / reference:5.2f}x   {verdict} <= {IMPORT_TARGET:g}x")
        RESULTS["imports"][name] = {"ms": ms, "ratio": round(ms / reference, 2)}
    return 0


BENCHMARKS = {
    "engine": bench_engine,
    "hostile": bench_hostile,
    "upload": bench_upload_put,
    "throughput": bench_throughput,
    "kafka": bench_kafka,
    "imports": bench_imports,
}


@command()
def main(argv: list[str] | None = None) -> int:
    chosen = (argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        raise CliError(f"unknown benchmark(s) {sorted(unknown)}: choose from {', '.join(BENCHMARKS)}")
    status = 0
    for name in chosen:
        status |= BENCHMARKS[name]()
    if RESULTS:
        print(f"bench: results in {save_results()} (price them: python -m scripts.dev.cost)")
    return status


if __name__ == "__main__":
    sys.exit(main())
