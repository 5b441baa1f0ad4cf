"""`make bootstrap`: the state backend made once, idempotently, and said step by step (in-process moto)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from scripts.deploy import bootstrap


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "terraform" / "envs" / "staging").mkdir(parents=True)
    return tmp_path


def run(root: Path) -> tuple[bootstrap.Backend, list[str]]:
    said: list[str] = []
    backend = bootstrap.bootstrap("staging", boto3.session.Session(), root, said.append)
    return backend, said


def test_the_first_run_makes_a_locked_down_versioned_encrypted_bucket_and_the_backend_file(
    offline_aws: None, root: Path
) -> None:
    backend, said = run(root)
    assert backend.bucket == "imgpipe-staging-tfstate-123456789012-us-east-1"
    assert any("created" in line and backend.bucket in line for line in said)
    s3 = boto3.client("s3")
    assert s3.get_bucket_versioning(Bucket=backend.bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=backend.bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": backend.kms_key_arn,
    }
    block = s3.get_public_access_block(Bucket=backend.bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    policy = json.loads(s3.get_bucket_policy(Bucket=backend.bucket)["Policy"])
    assert {st["Sid"] for st in policy["Statement"]} == {"DenyInsecureTransport", "DenyOutdatedTls"}
    assert boto3.client("kms").get_key_rotation_status(KeyId=backend.kms_key_arn)["KeyRotationEnabled"]
    written = (root / "terraform" / "envs" / "staging" / "backend.hcl").read_text()
    assert (
        f'bucket     = "{backend.bucket}"' in written and 'key        = "imgpipe/staging/terraform.tfstate"' in written
    )


def test_a_second_run_finds_everything_and_changes_nothing_it_should_not(offline_aws: None, root: Path) -> None:
    first, _ = run(root)
    second, said = run(root)
    assert second == first
    assert any("exists" in line and first.bucket in line for line in said)
    assert any("backend.hcl: up to date" in line for line in said)
    aliases = [a["AliasName"] for a in boto3.client("kms").list_aliases()["Aliases"]]
    assert aliases.count("alias/imgpipe-staging-tfstate") == 1  # no second key either


def test_a_loosened_bucket_is_tightened_again(offline_aws: None, root: Path) -> None:
    backend, _ = run(root)
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=backend.bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket=backend.bucket)
    run(root)
    assert s3.get_bucket_versioning(Bucket=backend.bucket)["Status"] == "Enabled"
    assert all(s3.get_public_access_block(Bucket=backend.bucket)["PublicAccessBlockConfiguration"].values())


def test_an_existing_different_backend_file_is_left_alone_and_said(offline_aws: None, root: Path) -> None:
    path = root / "terraform" / "envs" / "staging" / "backend.hcl"
    path.write_text('bucket = "the-teams-own-bucket"\n')
    _, said = run(root)
    assert path.read_text() == 'bucket = "the-teams-own-bucket"\n'
    assert any("exists and differs, left alone" in line for line in said)


def test_local_has_no_state_bucket(root: Path) -> None:
    with pytest.raises(ValueError, match="local keeps its state"):
        bootstrap.bootstrap("local", object(), root, print)
    assert bootstrap.main(["qa"]) == 2
