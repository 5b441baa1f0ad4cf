"""Local event-source worker: runs the SQS event source mappings Terraform deployed into the emulator.

    python -m scripts.local.worker serve --port 8081     (started in the background by `make up`)

What Lambda's poller does on AWS, done here because moto cannot run functions: every SQS mapping found in the
emulator's Lambda (function, queue, batch size, batching window, ReportBatchItemFailures, maximum concurrency)
gets pollers that receive batches from the emulator's real queue, invoke the function with the SQS event shape
in its own execution environments (scripts/local/lambda_host.py), as many batches at once as the mapping's
maximum concurrency and the function's concurrency allow, and delete what succeeded. The queue's own redrive
policy then moves a message that keeps failing to its DLQ after maxReceiveCount receives — nothing is re-declared.

A failed message comes back as on AWS: when its visibility timeout ends, the queue's or the one the function set
(the processor asks for 5 s while an upload may still be writing its item); IMGPIPE_LOCAL_RETRY_SECONDS makes
every failed message visible again after that many seconds instead (a shortcut that changes timing: an orphan
object would be dead-lettered before its grace ends). Difference from AWS, on purpose: mappings
run whatever their state, because envs/local creates them disabled (an enabled mapping makes moto itself
receive and try to invoke through Docker on every SendMessage, which dead-letters messages unprocessed).
The container workers' ECS service, in the containers and split processing modes, runs here too: its tasks as
processes (scripts/local/ecs_tasks.py). SIGTERM drains them: each finishes its image or releases its messages.
GET /status on the port answers what each poller and task did.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scripts.local import outputs as deployed
from scripts.local import stack
from scripts.local.ecs_tasks import LocalService, declared_service, read_service
from scripts.local.event_sources.dynamodb_streams import (
    StreamPoller,
    declared_stream_mappings,
    discover_stream_mappings,
)
from scripts.local.event_sources.kafka import KafkaPoller, ensure_topic, kafka_mappings
from scripts.local.event_sources.sqs import SqsMapping, SqsPoller, discover_sqs_mappings
from scripts.local.lambda_host import DeployedFunction, FunctionHost


def run_stream_forever(poller: StreamPoller, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            if poller.poll_once() == 0:
                stop.wait(1)  # Lambda polls each shard about once a second
        except Exception as err:  # emulator restarting: report, resume from the checkpoints kept
            poller.stats.last_error = f"{type(err).__name__}: {err}"
            print(f"local-worker: stream {poller.mapping.stream_arn} failed: {err!r}", flush=True)
            stop.wait(2)


def run_kafka_forever(poller: KafkaPoller, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            poller.poll_once()
        except Exception as err:  # broker restarting: report, reconnect, resume from committed offsets
            poller.stats.last_error = f"{type(err).__name__}: {err}"
            poller.log(f"local-kafka: {poller.mapping.topics} failed: {err!r}")
            poller.close()
            stop.wait(2)
    poller.close()


@dataclass
class Worker:
    pollers: list[SqsPoller]
    kafka_pollers: list[KafkaPoller] = field(default_factory=list)
    stream_pollers: list[StreamPoller] = field(default_factory=list)
    services: list[LocalService] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    host: FunctionHost | None = None  # whose execution environments end with the worker
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> list[threading.Thread]:
        threads = (
            [
                threading.Thread(
                    target=p.run_forever, args=(self.stop,), name=f"poll-{p.mapping.uuid}-{n}", daemon=True
                )
                for p in self.pollers
                for n in range(p.concurrency)
            ]
            + [
                threading.Thread(target=run_kafka_forever, args=(k, self.stop), name=f"kafka-{n}", daemon=True)
                for n, k in enumerate(self.kafka_pollers)
            ]
            + [
                threading.Thread(
                    target=run_stream_forever, args=(p, self.stop), name=f"stream-{p.mapping.uuid}", daemon=True
                )
                for p in self.stream_pollers
            ]
            # Not daemons: on stop they drain their tasks, and the process waits for that.
            + [
                threading.Thread(target=s.run_forever, args=(self.stop,), name=f"ecs-{s.spec.service}")
                for s in self.services
            ]
        )
        for thread in threads:
            thread.start()
        self.threads = threads
        return threads

    def drain(self, timeout_s: float) -> int:
        """Stops polling. Batches already running get timeout_s to finish (a Kafka batch then commits its offsets);
        the SQS messages of those still running are released, so that a restarted worker takes them at once
        rather than after the queue's visibility timeout. Returns how many were released. The ECS tasks drain on
        their own, within their stop timeout."""
        self.stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self.threads:
            if thread.daemon:
                thread.join(max(0.0, deadline - time.monotonic()))
        return sum(p.release_in_flight() for p in self.pollers)

    def status(self) -> dict[str, Any]:
        return {
            "mappings": [{**asdict(p.mapping), **asdict(p.stats), "concurrency": p.concurrency} for p in self.pollers],
            "kafka": [{**asdict(k.mapping), **asdict(k.stats)} for k in self.kafka_pollers],
            "streams": [{**asdict(p.mapping), **asdict(p.stats)} for p in self.stream_pollers],
            "ecs_services": [s.status() for s in self.services],
        }


# What a stopping worker gives the batches it is running: `make down` and `make up`'s restart send SIGTERM to the
# worker's process group and SIGKILL after the stack's grace, so what is not done by then is released (the last
# 1.5 s are for releasing and closing).
DRAIN_S = stack.STOP_GRACE_S - 1.5
# Lambda starts an SQS mapping at five batches at once and adds more while the queue stays full; locally it
# stays at five, which already keeps a laptop's cores busy.
SQS_STARTING_CONCURRENCY = 5


def sqs_concurrency(mapping: SqsMapping, function: DeployedFunction) -> int:
    """Batches of one SQS mapping in flight at once: never past the mapping's maximum concurrency nor what the
    function may run (its reserved concurrency, else the account's)."""
    wanted = min(SQS_STARTING_CONCURRENCY, mapping.maximum_concurrency or SQS_STARTING_CONCURRENCY)
    return max(1, min(wanted, function.concurrency))


def build(
    cfg: stack.StackConfig,
    retry_seconds: int | None = None,
    outputs: dict[str, Any] | None = None,
    host: FunctionHost | None = None,
) -> Worker:
    """Pollers for everything deployed: SQS mappings read from the emulator, the Kafka source from `outputs`
    (what the deploy recorded for ENV=local when not given). host: the function host to run in, shared with a
    gateway in the same process (then they share each function's concurrency, as on AWS)."""
    lambda_client = stack.aws_client(cfg, "lambda")
    sqs = stack.aws_client(cfg, "sqs")
    host = host or FunctionHost(lambda_client, cfg)
    configured = os.environ.get("IMGPIPE_LOCAL_RETRY_SECONDS", "").strip()
    retry = retry_seconds if retry_seconds is not None else (int(configured) if configured else None)
    region = cfg.client_env()["AWS_DEFAULT_REGION"]
    if outputs is None:
        outputs = deployed.read(cfg)
    kafka = []
    for mapping in kafka_mappings(outputs):
        ensure_topic(mapping.bootstrap_servers, mapping.topics[0])
        kafka.append(KafkaPoller(mapping, host, sqs=sqs))
    streams = stack.aws_client(cfg, "dynamodbstreams")
    services = []
    if (declared := declared_service(outputs)) is not None:
        spec = read_service(stack.aws_client(cfg, "ecs"), *declared)
        services.append(LocalService(spec, cfg, cfg.run_dir))
    return Worker(
        [
            SqsPoller(m, host, sqs, region, retry, concurrency=sqs_concurrency(m, host.function(m.function_name)))
            for m in discover_sqs_mappings(lambda_client, sqs)
        ],
        kafka,
        [
            StreamPoller(m, host, streams)
            for m in discover_stream_mappings(lambda_client) + declared_stream_mappings(outputs)
        ],
        services,
        host=host,
    )


def make_status_server(worker: Worker, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(worker.status(), indent=2).encode()
            self.send_response(200 if self.path.rstrip("/") in ("", "/status") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.local.worker", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["serve", "mappings"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("IMGPIPE_WORKER_PORT", "8081")))
    args = parser.parse_args(argv)
    cfg = stack.StackConfig.from_env()
    worker = build(cfg)
    if args.command == "mappings":
        for poller in worker.pollers:
            m = poller.mapping
            print(
                f"{m.queue_arn.rsplit(':', 1)[1]} -> {m.function_name} (batch {m.batch_size}, window "
                f"{m.batching_window_s}s, partial failures {'on' if m.report_batch_item_failures else 'off'}, "
                f"{poller.concurrency} at once, {m.state.lower()} in the emulator)"
            )
        for kafka in worker.kafka_pollers:
            k = kafka.mapping
            print(
                f"kafka {','.join(k.topics)} @ {k.bootstrap_servers} (group {k.consumer_group_id}) "
                f"-> {k.function_name} (batch {k.batch_size}, window {k.batching_window_s:g}s, "
                f"from {k.starting_position.lower()})"
            )
        for stream in worker.stream_pollers:
            sm = stream.mapping
            print(
                f"stream {sm.stream_arn.split(':table/', 1)[1]} -> {sm.function_name} (batch {sm.batch_size}, from "
                f"{sm.starting_position.lower()}, partial failures {'on' if sm.report_batch_item_failures else 'off'})"
            )
        for service in worker.services:
            ss = service.spec
            family = ss.task_definition_arn.rsplit("/", 1)[1]
            queue = ss.environment.get("QUEUE_URL", "?").rsplit("/", 1)[-1]
            print(
                f"ecs {ss.cluster}/{ss.service}: {ss.desired_count} task(s) of {family} ({' '.join(ss.command)}, "
                f"queue {queue}, stop timeout {ss.stop_timeout_s:g}s)"
            )
        return 0
    threads = worker.start()
    names = [f"{p.mapping.queue_arn.rsplit(':', 1)[1]} -> {p.mapping.function_name}" for p in worker.pollers]
    names += [f"kafka {','.join(k.mapping.topics)} -> {k.mapping.function_name}" for k in worker.kafka_pollers]
    names += [
        f"stream {p.mapping.stream_arn.split('/')[1]} -> {p.mapping.function_name}" for p in worker.stream_pollers
    ]
    names += [f"{s.spec.desired_count} task(s) of ecs service {s.spec.service}" for s in worker.services]
    print(f"local-worker: polling {len(names)} source(s): {', '.join(names) or 'none deployed'}", flush=True)
    server = make_status_server(worker, args.port)

    def shut_down(signum: int, frame: Any) -> None:
        worker.stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()  # shutdown() waits for serve_forever

    signal.signal(signal.SIGTERM, shut_down)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        worker.stop.set()
    released = worker.drain(DRAIN_S)
    print(f"local-worker: stopped; {released} SQS message(s) still running released for the next worker", flush=True)
    for thread in threads:
        if not thread.daemon:
            thread.join()  # the ECS tasks drain
    if worker.host is not None:
        worker.host.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
