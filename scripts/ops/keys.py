"""API-key administration: issue and revoke keys in an environment's key table (DynamoDB, peppered digests).

    python -m scripts.ops.keys issue KEY_ID OWNER [--tenant T] [--env local]
                                        → prints the key once; only its peppered digest is stored; its images are
                                          tenant T's (default: a tenant of its own, named KEY_ID)
    python -m scripts.ops.keys revoke KEY_ID [--env local]   → refused by the API within 60 s (the authorizer's cache)
    python -m scripts.ops.keys list [--env local]
    python -m scripts.ops.keys migrate [--env local]         → moves the keys of the former registry secret in

The table, the pepper secret and the former registry come from the deployed environment (terraform output),
never from a flag. The first issue in an environment writes its pepper.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from imgpipe.adapters.key_registry import KeyAdmin, KeyAdminError
from scripts.cli import command
from scripts.deploy import tf
from scripts.local import stack

__all__ = ["KeyAdminError", "admin_for", "main"]


def admin_for(outputs: dict[str, Any], cfg: stack.StackConfig, env: str = "local") -> KeyAdmin:
    """The key table and pepper of a deployed environment (its terraform outputs)."""
    if env == "local":
        dynamodb, secrets = stack.aws_client(cfg, "dynamodb"), stack.aws_client(cfg, "secretsmanager")
    else:
        import boto3

        dynamodb = boto3.client("dynamodb", region_name=str(outputs["region"]))
        secrets = boto3.client("secretsmanager", region_name=str(outputs["region"]))
    return KeyAdmin(str(outputs["api_keys_table_name"]), str(outputs["api_key_pepper_secret_name"]), dynamodb, secrets)


@command(KeyAdminError, tf.TfError, KeyError, ValueError)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.ops.keys", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["issue", "revoke", "list", "migrate"])
    parser.add_argument("key_id", nargs="?")
    parser.add_argument("owner", nargs="?")
    parser.add_argument("--env", default="local", choices=tf.ENVS)
    parser.add_argument("--tenant", help="issue: the tenant whose images the key stores and reads (default KEY_ID)")
    args = parser.parse_args(argv)
    cfg = stack.StackConfig.from_env()
    outputs = tf.outputs(args.env, tf.run_env(args.env, cfg))
    admin = admin_for(outputs, cfg, args.env)
    if args.command == "issue":
        if not args.key_id or not args.owner:
            parser.error("issue needs KEY_ID and OWNER")
        print(admin.issue(args.key_id, args.owner, args.tenant or None))
    elif args.command == "revoke":
        if not args.key_id:
            parser.error("revoke needs KEY_ID")
        admin.revoke(args.key_id)
        print(f"revoked {args.key_id} (refused by the API within the authorizer's cache, at most 60 s)")
    elif args.command == "migrate":
        moved, present = admin.migrate_from(str(outputs["api_keys_secret_name"]))
        print(f"migrated {moved} key(s) from {outputs['api_keys_secret_name']} ({present} already in the table)")
    else:
        for record in admin.records():
            state = "REVOKED" if record.revoked else "active"
            print(f"{record.key_id:<24} {record.owner:<32} tenant {record.tenant_id:<24} {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
