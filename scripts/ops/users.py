"""Web users (Cognito) administration: users are created by operators, each in exactly one tenant.

    python -m scripts.ops.users add USERNAME --tenant T [--email E] [--env local]
        → on AWS Cognito emails USERNAME a temporary password; locally (no mail) a password is generated and
          printed once. The user joins group `tenant:T` (created if absent) and sees tenant T's images only.
    python -m scripts.ops.users disable USERNAME [--env local]
        → no new sign-in, refresh tokens revoked; access tokens already issued expire within their lifetime
          (modules/identity access_token_minutes, 15 by default).
    python -m scripts.ops.users list [--env local]
    python -m scripts.ops.users token USERNAME [--env local]     (password on stdin; envs with password sign-in only)
        → prints an access token, for curl: Authorization: Bearer <token>

The user pool comes from the deployed environment (terraform output web_users), never from a flag.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import string
import sys
from typing import Any

from imgpipe.auth import is_tenant_id
from imgpipe.tokens import TENANT_GROUP_PREFIX
from scripts.cli import command
from scripts.deploy import tf
from scripts.local import stack


class UserAdminError(Exception):
    pass


def generated_password() -> str:
    """24 random characters with every class the pool's policy asks for."""
    alphabet = string.ascii_letters + string.digits + "!#%+-_=?"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(24))
        if all(any(c in group for c in password) for group in (string.ascii_lowercase, string.ascii_uppercase,
                                                                string.digits, "!#%+-_=?")):  # fmt: skip
            return password


def tenant_of(client: Any, pool_id: str, username: str) -> str | None:
    groups = client.admin_list_groups_for_user(UserPoolId=pool_id, Username=username)["Groups"]
    tenants = [
        g["GroupName"][len(TENANT_GROUP_PREFIX) :] for g in groups if g["GroupName"].startswith(TENANT_GROUP_PREFIX)
    ]
    return tenants[0] if len(tenants) == 1 else None


def add(client: Any, pool_id: str, username: str, tenant: str, email: str | None, password: str | None) -> None:
    """Creates the user in tenant `tenant`. password: set as permanent (local); None: Cognito's invitation."""
    if not is_tenant_id(tenant):
        raise UserAdminError("tenant must be 1-63 lowercase letters, digits or hyphens")
    group = f"{TENANT_GROUP_PREFIX}{tenant}"
    # Another user of the tenant came first, or a concurrent `make user`: the same group either way.
    with contextlib.suppress(client.exceptions.GroupExistsException):
        client.create_group(UserPoolId=pool_id, GroupName=group, Description=f"imgpipe tenant {tenant}")
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}] if email else []
    request: dict[str, Any] = {"UserPoolId": pool_id, "Username": username, "UserAttributes": attributes}
    if password is not None:
        request["MessageAction"] = "SUPPRESS"
    elif not email:
        raise UserAdminError("--email is needed: Cognito sends the temporary password there")
    try:
        client.admin_create_user(**request)
    except client.exceptions.UsernameExistsException:
        raise UserAdminError(f"user {username!r} exists already (its tenant is never changed)") from None
    if password is not None:
        client.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    client.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)


def disable(client: Any, pool_id: str, username: str) -> None:
    try:
        client.admin_disable_user(UserPoolId=pool_id, Username=username)
    except client.exceptions.UserNotFoundException:
        raise UserAdminError(f"no user {username!r}") from None
    client.admin_user_global_sign_out(UserPoolId=pool_id, Username=username)


def access_token(client: Any, client_id: str, username: str, password: str) -> str:
    """Signs in with USER_PASSWORD_AUTH (envs that allow it: local) and returns the access token."""
    try:
        result = client.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
    except (client.exceptions.NotAuthorizedException, client.exceptions.UserNotFoundException):
        raise UserAdminError("wrong user name or password, or the user is disabled") from None
    if "AuthenticationResult" not in result:
        raise UserAdminError(f"sign-in needs a {result.get('ChallengeName', 'challenge')} step first")
    return str(result["AuthenticationResult"]["AccessToken"])


@command(UserAdminError, tf.TfError, KeyError, ValueError)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.ops.users", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["add", "disable", "list", "token"])
    parser.add_argument("username", nargs="?")
    parser.add_argument("--env", default="local", choices=tf.ENVS)
    parser.add_argument("--tenant", help="add: the tenant whose images the user stores and reads")
    parser.add_argument("--email", help="add: where Cognito sends the invitation (required on AWS)")
    args = parser.parse_args(argv)
    cfg = stack.StackConfig.from_env()
    web = tf.outputs(args.env, tf.run_env(args.env, cfg)).get("web_users")
    if not web:
        raise UserAdminError(f"ENV={args.env} has no web users (modules/pipeline web_users.enabled = false)")
    pool_id = str(web["user_pool_id"])
    client = stack.aws_client(cfg, "cognito-idp") if args.env == "local" else _real_client(pool_id)
    if args.command in {"add", "disable", "token"} and not args.username:
        parser.error(f"{args.command} needs USERNAME")
    if args.command == "add":
        if not args.tenant:
            parser.error("add needs --tenant")
        password = generated_password() if args.env == "local" else None
        add(client, pool_id, args.username, args.tenant, args.email, password)
        print(f"added {args.username} to tenant {args.tenant}")
        if password:
            print(f"password (shown once): {password}")
    elif args.command == "disable":
        disable(client, pool_id, args.username)
        print(f"disabled {args.username}; tokens already issued expire within their lifetime")
    elif args.command == "token":
        if not web.get("password_auth_allowed"):
            raise UserAdminError(f"ENV={args.env} signs users in through the hosted UI only")
        print(access_token(client, str(web["web_client_id"]), args.username, sys.stdin.readline().strip()))
    else:
        for page in client.get_paginator("list_users").paginate(UserPoolId=pool_id):
            for user in page["Users"]:
                name = user["Username"]
                state = "enabled" if user.get("Enabled", True) else "DISABLED"
                print(f"{name:<32} tenant {tenant_of(client, pool_id, name) or '-':<24} {state}")
    return 0


def _real_client(pool_id: str) -> Any:
    import boto3

    return boto3.client("cognito-idp", region_name=pool_id.split("_", 1)[0])


if __name__ == "__main__":
    sys.exit(main())
