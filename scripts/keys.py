"""API-key administration: issue and revoke keys in an environment's hashed key registry (Secrets Manager).

    python -m scripts.keys issue KEY_ID OWNER [--tenant T] [--env local]
                                        → prints the key once; only its hash is stored; its images are tenant T's
                                          (default: a tenant of its own, named KEY_ID)
    python -m scripts.keys revoke KEY_ID [--env local]
    python -m scripts.keys list [--env local]

The registry's secret name comes from the deployed environment (terraform output), never from a flag.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from imgpipe.auth import KeyRecord, issue_key, parse_registry
from scripts import stack, tf


class KeyAdminError(Exception):
    pass


def _read(client: Any, secret_id: str) -> dict[str, KeyRecord]:
    return parse_registry(json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"] or "{}"))


def _write(client: Any, secret_id: str, records: dict[str, KeyRecord]) -> None:
    document = {"keys": [r.to_json() for r in sorted(records.values(), key=lambda r: r.key_id)]}
    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(document))


def issue(client: Any, secret_id: str, key_id: str, owner: str, tenant: str | None = None) -> str:
    records = _read(client, secret_id)
    if key_id in records:
        raise KeyAdminError(f"key id {key_id!r} exists already; revoke it and issue another id")
    plaintext, record = issue_key(key_id, owner, tenant)
    records[key_id] = record
    _write(client, secret_id, records)
    return plaintext


def revoke(client: Any, secret_id: str, key_id: str) -> None:
    records = _read(client, secret_id)
    if key_id not in records:
        raise KeyAdminError(f"no key id {key_id!r} in the registry")
    old = records[key_id]
    records[key_id] = KeyRecord(old.key_id, old.sha256, old.owner, revoked=True, tenant=old.tenant_id)
    _write(client, secret_id, records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.keys", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["issue", "revoke", "list"])
    parser.add_argument("key_id", nargs="?")
    parser.add_argument("owner", nargs="?")
    parser.add_argument("--env", default="local", choices=tf.ENVS)
    parser.add_argument("--tenant", help="issue: the tenant whose images the key stores and reads (default KEY_ID)")
    args = parser.parse_args(argv)
    try:
        cfg = stack.StackConfig.from_env()
        outputs = tf.outputs(args.env, tf.run_env(args.env, cfg))
        secret_id = str(outputs["api_keys_secret_name"])
        client = stack.aws_client(cfg, "secretsmanager") if args.env == "local" else _real_client(outputs)
        if args.command == "issue":
            if not args.key_id or not args.owner:
                parser.error("issue needs KEY_ID and OWNER")
            print(issue(client, secret_id, args.key_id, args.owner, args.tenant or None))
        elif args.command == "revoke":
            if not args.key_id:
                parser.error("revoke needs KEY_ID")
            revoke(client, secret_id, args.key_id)
            print(f"revoked {args.key_id} (API Gateway may serve a cached allow for up to its authorizer TTL)")
        else:
            for record in _read(client, secret_id).values():
                state = "REVOKED" if record.revoked else "active"
                print(f"{record.key_id:<24} {record.owner:<32} tenant {record.tenant_id:<24} {state}")
    except (KeyAdminError, tf.TfError, KeyError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _real_client(outputs: dict[str, Any]) -> Any:
    import boto3

    return boto3.client("secretsmanager", region_name=str(outputs["region"]))


if __name__ == "__main__":
    sys.exit(main())
