"""The local stack's coordinates: ports, run directory, endpoints and clients. Every part of the local runtime
reads them from here; nothing here starts or stops anything."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.cli import REPO_ROOT

DEFAULT_MOTO_PORT = 4566  # the port awslocal/localstack-client assume, so they work against moto unchanged
DEFAULT_KAFKA_PORT = 19092  # not 9092: leave a developer's own Kafka alone
DEFAULT_API_PORT = 8080
DEFAULT_WORKER_PORT = 8081
LOCAL_REGION = "us-east-1"
# moto accepts any credentials; these are placeholders, not secrets.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
READY_TIMEOUT_S = 30.0


class StackError(Exception):
    """A problem the user can act on; the CLI prints the message and exits 2."""


@dataclass(frozen=True)
class StackConfig:
    run_dir: Path
    moto_port: int = DEFAULT_MOTO_PORT
    kafka_port: int = DEFAULT_KAFKA_PORT
    api_port: int = DEFAULT_API_PORT
    worker_port: int = DEFAULT_WORKER_PORT
    external_aws_endpoint: str | None = None
    external_kafka_bootstrap: str | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> StackConfig:
        env = os.environ if environ is None else environ
        return cls(
            run_dir=Path(env.get("IMGPIPE_RUN_DIR", REPO_ROOT / ".run")),
            moto_port=_port(env, "IMGPIPE_MOTO_PORT", DEFAULT_MOTO_PORT),
            kafka_port=_port(env, "IMGPIPE_KAFKA_PORT", DEFAULT_KAFKA_PORT),
            api_port=_port(env, "IMGPIPE_API_PORT", DEFAULT_API_PORT),
            worker_port=_port(env, "IMGPIPE_WORKER_PORT", DEFAULT_WORKER_PORT),
            external_aws_endpoint=env.get("AWS_ENDPOINT_URL") or None,
            external_kafka_bootstrap=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
        )

    @property
    def aws_endpoint(self) -> str:
        return self.external_aws_endpoint or f"http://127.0.0.1:{self.moto_port}"

    @property
    def kafka_bootstrap(self) -> str:
        return self.external_kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    def client_env(self) -> dict[str, str]:
        """Environment for boto3, Terraform and Kafka clients talking to this stack."""
        env = {
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", LOCAL_REGION),
        }
        if not self.external_aws_endpoint:
            env.update(LOCAL_CREDENTIALS)
        return env


def _port(env: dict[str, str] | os._Environ[str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise StackError(f"{name}={raw!r} is not a TCP port (1-65535)")
    return int(raw)


def aws_client(cfg: StackConfig, service: str, *, probe: bool = False) -> Any:
    """A boto3 client for this stack: embedded moto gets placeholder credentials, a real endpoint the usual chain."""
    import boto3
    from botocore.config import Config

    env = cfg.client_env()
    config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}) if probe else None
    return boto3.client(
        service,
        endpoint_url=cfg.aws_endpoint,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        config=config,
    )
