"""The state backend of an environment, made once per account and region, idempotently:

    python -m scripts.deploy.bootstrap staging|prod|cicd   (make bootstrap ENV=staging)

- a KMS key for the state, with rotation (alias/imgpipe-<env>-tfstate);
- the state bucket imgpipe-<env>-tfstate-<account>-<region>: versioning on, SSE-KMS with that key (bucket key),
  every public access blocked, owner-enforced objects, a policy that denies plain HTTP and TLS < 1.2, and old
  state versions kept 90 days (state is not image data: it is what a rollback needs);
- terraform/envs/<env>/backend.hcl naming them, if there is none (an existing one is left alone, and said so).
Terraform locks the state with an S3 lock file (use_lockfile, fixed in versions.tf): no DynamoDB table.
Every step says what it found or did. boto3's own AWS_ENDPOINT_URL points it at an emulator (tested on moto).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from scripts.cli import REPO_ROOT, command

ENVS = ("staging", "prod", "cicd")


@dataclass(frozen=True)
class Backend:
    bucket: str
    key: str
    region: str
    kms_key_arn: str

    def hcl(self) -> str:
        return (
            "# Written by `make bootstrap`: the state bucket and key of this environment.\n"
            f'bucket     = "{self.bucket}"\n'
            f'key        = "{self.key}"\n'
            f'region     = "{self.region}"\n'
            f'kms_key_id = "{self.kms_key_arn}"\n'
        )


def state_key(session: Any, env: str, say: Callable[[str], None]) -> str:
    kms = session.client("kms")
    alias = f"alias/imgpipe-{env}-tfstate"
    try:
        arn = str(kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"])
        say(f"kms     {alias}: exists ({arn})")
    except ClientError as err:
        if err.response["Error"]["Code"] != "NotFoundException":
            raise
        arn = str(
            kms.create_key(
                Description=f"imgpipe {env}: Terraform state", Tags=[{"TagKey": "imgpipe", "TagValue": env}]
            )["KeyMetadata"]["Arn"]
        )
        kms.create_alias(AliasName=alias, TargetKeyId=arn)
        say(f"kms     {alias}: created ({arn})")
    if not kms.get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"]:
        kms.enable_key_rotation(KeyId=arn)
        say("kms     key rotation: turned on")
    return arn


def state_bucket(session: Any, name: str, region: str, kms_key_arn: str, say: Callable[[str], None]) -> None:
    s3 = session.client("s3")
    try:
        s3.head_bucket(Bucket=name)
        say(f"bucket  {name}: exists")
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise  # 403: the name is someone else's
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced", **extra)
        say(f"bucket  {name}: created in {region}")
    # Each setting is put every time (idempotent puts): a bucket someone loosened is tightened again.
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_arn},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    arn = f"arn:aws:s3:::{name}"
    s3.put_bucket_policy(
        Bucket=name,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn, f"{arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                    {
                        "Sid": "DenyOutdatedTls",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn, f"{arn}/*"],
                        "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
                    },
                ],
            }
        ),
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "old-state-versions",
                    "Status": "Enabled",
                    "Filter": {},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
            ]
        },
    )
    say(
        "bucket  versioning on, SSE-KMS with the state key, public access blocked, TLS-only policy, 90-day old versions"
    )


def bootstrap(env: str, session: Any, root: Path = REPO_ROOT, say: Callable[[str], None] = print) -> Backend:
    if env not in ENVS:
        raise ValueError(
            f"ENV={env} has no state bucket to make: choose one of {', '.join(ENVS)} "
            "(local keeps its state in terraform/envs/local)"
        )
    account = str(session.client("sts").get_caller_identity()["Account"])
    region = session.region_name or "us-east-1"
    say(f"==> bootstrapping the {env} state backend in account {account}, {region}")
    key_arn = state_key(session, env, say)
    backend = Backend(f"imgpipe-{env}-tfstate-{account}-{region}", f"imgpipe/{env}/terraform.tfstate", region, key_arn)
    state_bucket(session, backend.bucket, region, key_arn, say)
    path = root / "terraform" / "envs" / env / "backend.hcl"
    if not path.exists():
        path.write_text(backend.hcl())
        say(f"backend {path.relative_to(root)}: written")
    elif path.read_text() == backend.hcl():
        say(f"backend {path.relative_to(root)}: up to date")
    else:
        say(
            f"backend {path.relative_to(root)}: exists and differs, left alone; "
            f"this bootstrap's would be:\n{backend.hcl()}"
        )
    return backend


@command(ValueError)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.deploy.bootstrap", description=__doc__.split("\n\n")[0])
    parser.add_argument("env")
    args = parser.parse_args(argv)
    import boto3

    try:
        bootstrap(args.env, boto3.session.Session())
    except (ClientError, BotoCoreError) as err:  # no credentials, no such region, access denied: said plainly
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
