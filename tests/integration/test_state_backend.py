"""`make bootstrap` on the emulator, then Terraform's own S3 backend using what it made: a root module is
applied with its state in the bucket (encrypted with the state key, versioned) and S3-native locking."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest

from scripts.deploy import bootstrap, tf
from scripts.local import stack

pytestmark = pytest.mark.integration


def test_terraform_keeps_its_state_in_the_bootstrapped_bucket(
    local_stack: stack.StackConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in local_stack.client_env().items():
        monkeypatch.setenv(name, value)
    (tmp_path / "terraform" / "envs" / "staging").mkdir(parents=True)
    said: list[str] = []
    backend = bootstrap.bootstrap("staging", boto3.session.Session(region_name="us-east-1"), tmp_path, said.append)
    again: list[str] = []
    assert (
        bootstrap.bootstrap("staging", boto3.session.Session(region_name="us-east-1"), tmp_path, again.append)
        == backend
    )
    assert any("created" in line for line in said) and not any("created" in line for line in again)

    s3 = stack.aws_client(local_stack, "s3")
    assert {st["Sid"] for st in json.loads(s3.get_bucket_policy(Bucket=backend.bucket)["Policy"])["Statement"]} == {
        "DenyInsecureTransport",
        "DenyOutdatedTls",
    }
    # moto applies a Deny without evaluating its condition (why envs/local sets enforce_bucket_policy = false):
    # over its plain-HTTP endpoint the TLS-only policy would refuse Terraform too. Real S3 evaluates it.
    s3.delete_bucket_policy(Bucket=backend.bucket)

    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf").write_text(
        'terraform {\n  backend "s3" {\n    encrypt      = true\n    use_lockfile = true\n  }\n}\n'
        'resource "terraform_data" "marker" {\n  input = "bootstrapped"\n}\n'
    )
    endpoint = local_stack.aws_endpoint
    emulator = [  # only what pointing the backend at an emulator needs; backend.hcl is used as written
        f'-backend-config=endpoints={{s3="{endpoint}",sts="{endpoint}"}}',
        "-backend-config=use_path_style=true",
        "-backend-config=skip_credentials_validation=true",
        "-backend-config=skip_requesting_account_id=true",
        "-backend-config=skip_metadata_api_check=true",
    ]
    environ = {**os.environ, **local_stack.client_env(), "TF_IN_AUTOMATION": "1"}
    backend_file = tmp_path / "terraform" / "envs" / "staging" / "backend.hcl"
    for args in (
        ["init", "-input=false", f"-backend-config={backend_file}", *emulator],
        ["apply", "-input=false", "-auto-approve"],
    ):
        done = subprocess.run(
            [tf.terraform_bin(), f"-chdir={module}", *args], capture_output=True, text=True, env=environ
        )
        assert done.returncode == 0, done.stdout + done.stderr

    state = s3.head_object(Bucket=backend.bucket, Key=backend.key)
    assert state["ServerSideEncryption"] == "aws:kms" and state["SSEKMSKeyId"] == backend.kms_key_arn
    assert b"bootstrapped" in s3.get_object(Bucket=backend.bucket, Key=backend.key)["Body"].read()
    assert not s3.list_objects_v2(Bucket=backend.bucket, Prefix=f"{backend.key}.tflock").get("KeyCount")  # released
