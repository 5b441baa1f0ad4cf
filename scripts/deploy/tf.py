"""Terraform driver for the environments: init (with provider-mirror detection), plan, apply, destroy.

    python -m scripts.deploy.tf init|plan|apply|deploy|destroy|output|summary ENV

Provider installation works offline and online from the same code:
  * IMGPIPE_TF_PLUGIN_DIR=<dir> names a filesystem mirror explicitly (an error if it holds no hashicorp/aws);
  * otherwise well-known mirror locations are probed (see MIRROR_CANDIDATES);
  * otherwise `terraform init` runs plain and downloads from the registry as usual.
ENV=local points the AWS provider at the local stack (moto unless AWS_ENDPOINT_URL says otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scripts.cli import REPO_ROOT, command
from scripts.deploy import plan_summary
from scripts.local import outputs as deployed
from scripts.local import stack

ENVS = ("local", "staging", "prod", "cicd")  # cicd: the pipelines of staging and prod (modules/cicd)
AWS_PROVIDER = Path("registry.terraform.io/hashicorp/aws")
MIRROR_CANDIDATES = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    "/opt/tf-plugins",
    "/opt/terraform/plugins",
)
INIT_STAMP = "imgpipe-init.sha256"


class TfError(Exception):
    """A problem the user can act on; the CLI prints it and exits 2."""


def terraform_platform() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{sys.platform}_{arch}"  # sys.platform is 'linux' / 'darwin', as Terraform names them


def mirror_has_aws(directory: Path, tf_platform: str | None = None) -> bool:
    """True when directory is a provider mirror (either layout) holding hashicorp/aws for this platform."""
    tf_platform = tf_platform or terraform_platform()
    provider = directory / AWS_PROVIDER
    if not provider.is_dir():
        return False
    for version in provider.iterdir():
        if (version / tf_platform).is_dir():  # unpacked layout
            return True
        if any(version.glob(f"terraform-provider-aws_*_{tf_platform}.zip")):  # packed layout
            return True
    return any(provider.glob(f"terraform-provider-aws_*_{tf_platform}.zip"))


def find_provider_mirror(
    environ: dict[str, str] | None = None,
    candidates: tuple[str, ...] = MIRROR_CANDIDATES,
    tf_platform: str | None = None,
) -> Path | None:
    env = os.environ if environ is None else environ
    explicit = env.get("IMGPIPE_TF_PLUGIN_DIR")
    if explicit:
        path = Path(explicit).expanduser()
        if not mirror_has_aws(path, tf_platform):
            raise TfError(
                f"IMGPIPE_TF_PLUGIN_DIR={explicit} holds no {AWS_PROVIDER} provider for "
                f"{tf_platform or terraform_platform()}"
            )
        return path
    for candidate in candidates:
        path = Path(candidate).expanduser()
        if mirror_has_aws(path, tf_platform):
            return path
    return None


# Terraform's operations at once (its default is 10). Against the emulator every call answers at once, yet the AWS
# provider still waits fixed times after a create (an S3 lifecycle configuration 55 s, an SQS queue or its policy
# 25 s, a KMS key 8-12 s, an ECS cluster 10 s), and ten such waits hold all ten slots while the rest of the graph
# queues behind them. The real envs keep Terraform's default: AWS throttles bursts of control-plane calls.
PARALLELISM = {"local": 50}


def parallelism_flags(env: str) -> list[str]:
    return [f"-parallelism={PARALLELISM[env]}"] if env in PARALLELISM else []


def env_dir(env: str, root: Path = REPO_ROOT) -> Path:
    if env not in ENVS:
        raise TfError(f"unknown ENV={env!r}: choose one of {', '.join(ENVS)}")
    return root / "terraform" / "envs" / env


def terraform_bin() -> str:
    found = shutil.which("terraform")
    if not found:
        raise TfError(
            "terraform is not on PATH: install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install)"
        )
    return found


def web_origins(cfg: stack.StackConfig) -> list[str]:
    """The origins a browser shows for the local gateway: both names of the loopback address."""
    return [f"http://127.0.0.1:{cfg.api_port}", f"http://localhost:{cfg.api_port}"]


def run_env(env: str, cfg: stack.StackConfig | None = None) -> dict[str, str]:
    """Process environment for terraform in ENV: local talks to the local stack, others to real AWS."""
    environ = dict(os.environ)
    environ.setdefault("TF_IN_AUTOMATION", "1")
    if env == "local":
        cfg = cfg or stack.StackConfig.from_env()
        local = cfg.client_env()
        environ["TF_VAR_endpoint_url"] = local["AWS_ENDPOINT_URL"]
        environ["TF_VAR_kafka_bootstrap_servers"] = cfg.kafka_bootstrap
        # The local gateway serves the web app: its origin may POST upload forms to the raw bucket (moto answers
        # CORS preflights from the bucket's rules) and call the API.
        environ["TF_VAR_web_origins"] = json.dumps(web_origins(cfg))
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            if key in local:
                environ.setdefault(key, local[key])
        environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    return environ


_LOCAL_MODULE_SOURCE = re.compile(r'^\s*source\s*=\s*"(\.\.?/[^"]+)"', re.MULTILINE)


def _module_dirs(directory: Path) -> list[Path]:
    """The directory and every local module it calls, transitively: init installs all of them."""
    seen: list[Path] = []
    pending = [directory.resolve()]
    while pending:
        current = pending.pop()
        if current in seen or not current.is_dir():
            continue
        seen.append(current)
        for tf_file in current.glob("*.tf"):
            pending += [(current / source).resolve() for source in _LOCAL_MODULE_SOURCE.findall(tf_file.read_text())]
    return seen


def _init_fingerprint(directory: Path, args: list[str]) -> str:
    """Changes when init's result would: its arguments, the root's files, or any local module's calls."""
    digest = hashlib.sha256(" ".join(args).encode())
    for module_dir in sorted(_module_dirs(directory)):
        for path in sorted([*module_dir.glob("*.tf"), *module_dir.glob("*.hcl")]):
            digest.update(str(path.relative_to(module_dir.parent)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def init(
    directory: Path,
    *,
    backend: bool = True,
    backend_config: Path | list[str] | None = None,
    environ: dict[str, str] | None = None,
    quiet: bool = True,
) -> None:
    """terraform init, skipped when nothing that affects it changed since the last successful one.
    backend_config: a backend.hcl file, or key=value settings."""
    args = [terraform_bin(), f"-chdir={directory}", "init", "-input=false", "-no-color"]
    mirror = find_provider_mirror(environ)
    if mirror:
        args.append(f"-plugin-dir={mirror}")
    if not backend:
        args.append("-backend=false")
    elif isinstance(backend_config, Path):
        args.append(f"-backend-config={backend_config}")
    elif backend_config:
        args += [f"-backend-config={setting}" for setting in backend_config]
    stamp = directory / ".terraform" / INIT_STAMP
    fingerprint = _init_fingerprint(directory, args)
    if stamp.is_file() and stamp.read_text() == fingerprint:
        return
    out = subprocess.run(args, capture_output=quiet, text=True, env=environ)
    if out.returncode != 0:
        raise TfError(f"terraform init failed in {directory}:\n{out.stderr or ''}{out.stdout or ''}")
    stamp.write_text(fingerprint)


# A build in CodePipeline has no backend.hcl (it names account resources and stays out of git): the project's
# environment names the state instead.
STATE_VARIABLES = {"bucket": "TF_STATE_BUCKET", "key": "TF_STATE_KEY", "region": "TF_STATE_REGION"}
STATE_KMS_VARIABLE = "TF_STATE_KMS_KEY_ID"


def backend_settings(env: str, environ: dict[str, str], directory: Path) -> Path | list[str]:
    backend_file = directory / "backend.hcl"
    if backend_file.is_file():
        return backend_file
    if environ.get(STATE_VARIABLES["bucket"]):
        missing = [name for name in STATE_VARIABLES.values() if not environ.get(name)]
        if missing:
            raise TfError(f"{STATE_VARIABLES['bucket']} is set but {', '.join(missing)} are not")
        settings = [f"{setting}={environ[name]}" for setting, name in STATE_VARIABLES.items()]
        if environ.get(STATE_KMS_VARIABLE):
            settings.append(f"kms_key_id={environ[STATE_KMS_VARIABLE]}")
        return settings
    raise TfError(
        f"{backend_file} is missing: run `make bootstrap ENV={env}` (it writes it), or copy backend.hcl.example "
        f"next to it and name your state bucket, or set {', '.join(STATE_VARIABLES.values())}"
    )


def init_env(env: str, environ: dict[str, str], root: Path = REPO_ROOT) -> Path:
    directory = env_dir(env, root)
    backend_config = None if env == "local" else backend_settings(env, environ, directory)
    init(directory, backend_config=backend_config, environ=environ)
    return directory


def require_local_stack(cfg: stack.StackConfig) -> None:
    if not stack.moto_ready(cfg):
        raise TfError(f"no AWS emulator answers at {cfg.aws_endpoint}: run `make up` (or set AWS_ENDPOINT_URL)")


def _color_flag() -> list[str]:
    return [] if sys.stdout.isatty() else ["-no-color"]


def summary_paths(planfile: Path) -> tuple[Path, Path]:
    """Where a saved plan's reviews go: Terraform's full text and the Markdown summary (plan_summary)."""
    return planfile.with_name(planfile.name + ".txt"), planfile.with_name(planfile.name + ".md")


def read_saved_plan(directory: Path, planfile: Path, environ: dict[str, str]) -> plan_summary.Summary:
    shown = subprocess.run(
        [terraform_bin(), f"-chdir={directory}", "show", "-json", str(planfile.resolve())],
        env=environ,
        capture_output=True,
        text=True,
    )
    if shown.returncode != 0:
        raise TfError(f"terraform show could not read {planfile}: {shown.stderr.strip()}")
    return plan_summary.summarise(json.loads(shown.stdout))


def summarise_saved_plan(
    env: str, directory: Path, planfile: Path, environ: dict[str, str], max_changes: int | None = None
) -> plan_summary.Summary:
    """Prints the summary of a saved plan and writes its full text and Markdown summary beside it."""
    full_text, markdown = summary_paths(planfile)
    summary = read_saved_plan(directory, planfile, environ)
    text = subprocess.run(
        [terraform_bin(), f"-chdir={directory}", "show", "-no-color", str(planfile.resolve())],
        env=environ,
        capture_output=True,
        text=True,
    )
    full_text.write_text(text.stdout)
    markdown.write_text(plan_summary.render_markdown(summary, f"Terraform plan for ENV={env}"))
    print(plan_summary.render_text(summary, f"ENV={env}", max_changes), end="")
    print(f"    full plan: {_shown(full_text)}  summary: {_shown(markdown)}", flush=True)
    return summary


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def saved_plan_field(env: str, environ: dict[str, str], planfile: Path, field: str, root: Path = REPO_ROOT) -> str:
    """One line about a saved plan, for the pipeline's approval (CodeBuild exported variables)."""
    if not planfile.is_file():
        raise TfError(f"no saved plan at {planfile}: run `make plan ENV={env}` first")
    summary = read_saved_plan(init_env(env, environ, root), planfile, environ)
    if field == "headline":
        return summary.headline()
    at_risk = [f"{c.action} {c.address}" for c in summary.changes if c.loses_data]
    line = f"{len(at_risk)}: {'; '.join(at_risk)}" if at_risk else "none"
    return line if len(line) <= 900 else line[:897] + "..."  # CodePipeline caps a variable's size


def plan(env: str, environ: dict[str, str], planfile: Path, root: Path = REPO_ROOT) -> bool:
    """Saves a plan to planfile and summarises it when it has changes; returns True when it has changes."""
    return _plan(env, environ, planfile, root) is not None


def _plan(
    env: str, environ: dict[str, str], planfile: Path, root: Path = REPO_ROOT, max_changes: int | None = None
) -> plan_summary.Summary | None:
    directory = init_env(env, environ, root)
    for stale in summary_paths(planfile):  # never leave the review of an older plan next to a new one
        stale.unlink(missing_ok=True)
    args = ["plan", "-input=false", "-detailed-exitcode", "-no-color", *parallelism_flags(env)]
    args.append(f"-out={planfile.resolve()}")
    out = subprocess.run([terraform_bin(), f"-chdir={directory}", *args], env=environ, capture_output=True, text=True)
    if out.returncode == 1:
        raise TfError(f"terraform plan failed for ENV={env}:\n{out.stdout}{out.stderr}")
    if out.returncode == 2:  # "no changes" is one line from the caller
        return summarise_saved_plan(env, directory, planfile, environ, max_changes)
    return None


_COMPLETE = re.compile(r": (Creation|Modifications|Destruction) complete after ")
PROGRESS_EVERY_S = 10.0


class Progress:
    """One line for a whole apply: n/N operations complete and the time taken, rewritten in place on a terminal,
    a line every PROGRESS_EVERY_S seconds in a log (CI), so a 200-resource apply is not 700 lines."""

    def __init__(self, total: int, label: str, tty: bool | None = None) -> None:
        self.total, self.label, self.done = total, label, 0
        self.started = self.last_shown = time.monotonic()
        self.tty = sys.stdout.isatty() if tty is None else tty

    def line(self) -> str:
        return f"{self.label}: {self.done}/{self.total} resources applied ({time.monotonic() - self.started:.0f}s)"

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if self.tty:
            print(f"\r{self.line()}", end="", flush=True)
        elif now - self.last_shown >= PROGRESS_EVERY_S:
            print(self.line(), flush=True)
            self.last_shown = now

    def finish(self) -> None:
        print(f"\r{self.line()}" if self.tty else self.line(), flush=True)


def apply(
    env: str,
    environ: dict[str, str],
    planfile: Path,
    root: Path = REPO_ROOT,
    *,
    log: Path | None = None,
    operations: int = 0,
) -> None:
    """Applies exactly the saved plan. Terraform itself refuses one made against an older state ("stale").

    Streamed as it runs, or, with `log`, written there whole while one progress line counts the operations."""
    directory = env_dir(env, root)
    args = ["apply", "-input=false", *(["-no-color"] if log else _color_flag()), *parallelism_flags(env)]
    args.append(str(planfile.resolve()))
    process = subprocess.Popen(
        [terraform_bin(), f"-chdir={directory}", *args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Its errors are kept for the exception: a caller that captures stdout (a test, a build log) or reads only
    # the progress line still gets what failed.
    errors: list[str] = []
    progress = Progress(operations, f"==> terraform apply ENV={env}") if log else None
    assert process.stdout is not None
    with log.open("a") if log else contextlib.nullcontext() as sink:
        for line in process.stdout:
            if sink is None:
                print(line, end="", flush=True)
            else:
                sink.write(line)
            if progress and _COMPLETE.search(line):
                progress.step()
            if errors or "Error:" in line:
                errors.append(line.rstrip())
    if progress:
        progress.finish()
    if process.wait() != 0:
        detail = "\n".join(errors[-60:])
        where = f"\n(the whole log: {_shown(log)})" if log else ""
        raise TfError(f"terraform apply failed for ENV={env}" + (f":\n{detail}" if detail else "") + where)


# A quiet deploy lists a plan's changes only up to this many (an upgrade's few changes, not a first deploy's 200).
BRIEF_PLAN_CHANGES = 20

# Applied only after a typed "yes" (or AUTO_APPROVE=1): prod, and cicd, which holds prod's deployer.
CONFIRMED_ENVS = ("prod", "cicd")


def confirm(env: str, auto_approve: bool) -> None:
    if env not in CONFIRMED_ENVS or auto_approve:
        return
    if not sys.stdin.isatty():
        raise TfError(f"refusing to apply to {env} without confirmation: run interactively or set AUTO_APPROVE=1")
    if input(f"Apply this plan to {env}? Type 'yes': ").strip() != "yes":
        raise TfError(f"{env} apply cancelled")


def apply_saved(env: str, environ: dict[str, str], planfile: Path, auto_approve: bool, root: Path = REPO_ROOT) -> None:
    """`make apply`: the plan `make plan` saved (or the pipeline's plan artifact), as reviewed, and nothing else."""
    if not planfile.is_file():
        raise TfError(f"no saved plan at {planfile}: run `make plan ENV={env}` first, review it, then apply it")
    directory = init_env(env, environ, root)
    summarise_saved_plan(env, directory, planfile, environ)
    confirm(env, auto_approve)
    print(f"==> terraform apply ENV={env} (the saved plan {_shown(planfile)})", flush=True)
    apply(env, environ, planfile, root)
    planfile.unlink()  # applied: it can never be applied twice
    for review in summary_paths(planfile):
        review.unlink(missing_ok=True)


def forget_state_of_a_lost_emulator(environ: dict[str, str], root: Path = REPO_ROOT) -> bool:
    """ENV=local only. The emulator keeps everything in memory: when it was restarted, the local state describes
    resources that no longer exist, and refreshing them one by one is slow and trips over emulator gaps (moto
    answers 500, not "not found", for a missing Athena named query). Probe one resource the state names; if the
    emulator does not have it, set the state aside and deploy from an empty one. Returns True when it did."""
    import boto3

    state_file = env_dir("local", root) / "terraform.tfstate"
    if not state_file.is_file():
        return False
    try:
        table = json.loads(state_file.read_text())["outputs"]["pipeline"]["value"]["metadata_table_name"]
    except (ValueError, KeyError, TypeError):
        return False
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=environ["TF_VAR_endpoint_url"],
        region_name=environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=environ.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY"),
    )
    try:
        dynamodb.describe_table(TableName=table)
        return False
    except dynamodb.exceptions.ResourceNotFoundException:
        pass
    state_file.replace(state_file.with_name("terraform.tfstate.lost-emulator"))
    print("==> the emulator no longer holds what the local state describes (it was restarted): deploying afresh")
    return True


# `make up` (and `make demo`, which runs it) on a stack that is already deployed: Terraform would refresh ~220
# resources from the emulator to find nothing to do, 30 s and 40 s of CPU on a 2-core machine. Everything a local
# plan reads is on disk, in the environment or in the emulator this project started, so a successful deploy records
# a digest of it and `up` skips Terraform while the digest holds. What the digest cannot see is a change made inside
# the emulator by hand: `make deploy ENV=local` always plans against it.
APPLIED_STAMP = "imgpipe-applied"  # beside init's stamp, in .terraform/


def _own_emulator(cfg: stack.StackConfig) -> stack.Record | None:
    cfg = stack.recognise_own(cfg)
    if cfg.external_aws_endpoint:
        return None  # someone else's emulator may have restarted without this project knowing
    record = stack.Record.load(stack.record_path(cfg, "moto"))
    return record if record is not None and stack.is_ours(record) else None


def local_inputs_digest(cfg: stack.StackConfig, environ: dict[str, str], root: Path = REPO_ROOT) -> str | None:
    """A digest of what a plan of ENV=local reads: the emulator's process, the environment Terraform runs with, the
    configuration, the state, the packages and the web app. None when that cannot be pinned down."""
    emulator = _own_emulator(cfg)
    state = env_dir("local", root) / "terraform.tfstate"
    if emulator is None or not state.is_file():
        return None
    digest = hashlib.sha256(f"emulator {emulator.pid} {emulator.started_at} {emulator.port}\0".encode())
    for key in sorted(k for k in environ if k.startswith(("TF_", "AWS_", "MOTO_"))):
        digest.update(f"{key}={environ[key]}\0".encode())
    files = [state]
    for tree in (root / "terraform", root / "web", root / "dist" / "lambda"):
        files += [
            path
            for path in tree.rglob("*")
            if path.is_file()
            and not {".terraform", "node_modules"} & set(path.relative_to(tree).parts)
            and not path.name.startswith("terraform.tfstate")  # the state itself is added above, its backups not
            and ".tfplan" not in path.name
        ]
    for path in sorted(set(files)):
        # Packages are tens of MB: their manifest (hashes) and their sizes and times stand for their bytes.
        seen = path.stat()
        content = f"{seen.st_size} {seen.st_mtime_ns}".encode() if path.suffix == ".zip" else path.read_bytes()
        digest.update(str(path.relative_to(root)).encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def _applied_stamp(root: Path) -> Path:
    return env_dir("local", root) / ".terraform" / APPLIED_STAMP


def record_local_deploy(cfg: stack.StackConfig, environ: dict[str, str], root: Path = REPO_ROOT) -> None:
    stamp = _applied_stamp(root)
    digest = local_inputs_digest(cfg, environ, root)
    if digest is None or not stamp.parent.is_dir():
        stamp.unlink(missing_ok=True)
        return
    stamp.write_text(digest)


def local_deploy_is_current(cfg: stack.StackConfig, environ: dict[str, str], root: Path = REPO_ROOT) -> bool:
    """True when the last successful deploy to this emulator read exactly what a plan would read now."""
    stamp = _applied_stamp(root)
    if not stamp.is_file() or not deployed.path(cfg).is_file():
        return False
    digest = local_inputs_digest(cfg, environ, root)
    return digest is not None and stamp.read_text() == digest


def deploy(
    env: str, environ: dict[str, str], auto_approve: bool, root: Path = REPO_ROOT, log: Path | None = None
) -> bool:
    """plan → apply that saved plan; returns False when there was nothing to apply.

    With `log` (`make up`: ENV=local without VERBOSE=1), Terraform's apply goes to that file and the terminal
    gets the plan's headline, its changes when they are few, and one progress line."""
    planfile = env_dir(env, root) / f"{env}.tfplan"
    started = time.time()
    if env == "local":
        forget_state_of_a_lost_emulator(environ, root)
    print(f"==> terraform plan ENV={env}", flush=True)
    summary = _plan(env, environ, planfile, root, max_changes=BRIEF_PLAN_CHANGES if log else None)
    if summary is None:
        print(f"==> ENV={env} is up to date: nothing to apply ({time.time() - started:.1f}s)")
        planfile.unlink(missing_ok=True)
        return False
    confirm(env, auto_approve)
    if log:
        # The plan's review files go once it is applied: its full text is kept in the log with the apply.
        log.parent.mkdir(parents=True, exist_ok=True)
        full_text = summary_paths(planfile)[0]
        plan_text = full_text.read_text() if full_text.is_file() else ""
        log.write_text(f"terraform plan and apply ENV={env} at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n{plan_text}\n")
        print(
            f"==> terraform apply ENV={env} (the plan and the apply: {_shown(log)}; VERBOSE=1 streams them)", flush=True
        )
    else:
        print(f"==> terraform apply ENV={env}", flush=True)
    apply(env, environ, planfile, root, log=log, operations=summary.operations)
    for done in (planfile, *summary_paths(planfile)):
        done.unlink(missing_ok=True)
    print(f"==> ENV={env} deployed in {time.time() - started:.1f}s")
    return True


def destroy(env: str, environ: dict[str, str], auto_approve: bool) -> None:
    directory = init_env(env, environ)
    args = [terraform_bin(), f"-chdir={directory}", "destroy", "-input=false"]
    if auto_approve or env == "local":
        args.append("-auto-approve")
    if subprocess.run(args, env=environ).returncode != 0:
        raise TfError(f"terraform destroy failed for ENV={env}")


def outputs(env: str, environ: dict[str, str], root: Path = REPO_ROOT) -> dict[str, Any]:
    directory = env_dir(env, root)
    out = subprocess.run(
        [terraform_bin(), f"-chdir={directory}", "output", "-json"],
        capture_output=True,
        text=True,
        env=environ,
    )
    if out.returncode != 0:
        raise TfError(f"terraform output failed for ENV={env}: {out.stderr.strip()}")
    values = {key: value["value"] for key, value in json.loads(out.stdout or "{}").items()}
    # Each env exposes what it deployed as one object output, `pipeline` (see terraform/modules/pipeline).
    pipeline = values.get("pipeline")
    return dict(pipeline) if isinstance(pipeline, dict) else values


@command(TfError, stack.StackError)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.deploy.tf", description=__doc__.splitlines()[0])
    parser.add_argument(
        "command", choices=["init", "plan", "apply", "deploy", "destroy", "output", "summary", "mirror"]
    )
    parser.add_argument("env", nargs="?", default="local")
    parser.add_argument(
        "--plan", type=Path, help="apply/summary: the saved plan (default terraform/envs/ENV/ENV.tfplan)"
    )
    parser.add_argument("--field", choices=["headline", "at-risk"], help="summary: print one line about the saved plan")
    parser.add_argument(
        "--unless-current",
        action="store_true",
        help="deploy local: skip Terraform when nothing a plan reads changed since the last deploy to this emulator",
    )
    args = parser.parse_args(argv)
    auto_approve = os.environ.get("AUTO_APPROVE") == "1"
    if args.command == "mirror":
        mirror = find_provider_mirror()
        print(mirror if mirror else "none (terraform init will use the registry)")
        return 0
    env_dir(args.env)  # validates ENV before anything else
    environ = run_env(args.env)
    if args.env == "local" and args.command in ("plan", "apply", "deploy", "destroy"):
        require_local_stack(stack.StackConfig.from_env())
    if args.command == "init":
        init_env(args.env, environ)
    elif args.command == "plan":
        planfile = env_dir(args.env) / f"{args.env}.tfplan"
        changed = plan(args.env, environ, planfile)
        print(f"==> plan saved to {planfile.relative_to(REPO_ROOT)} ({'changes' if changed else 'no changes'})")
    elif args.command == "apply":
        apply_saved(args.env, environ, args.plan or env_dir(args.env) / f"{args.env}.tfplan", auto_approve)
    elif args.command == "summary":
        planfile = args.plan or env_dir(args.env) / f"{args.env}.tfplan"
        if args.field:
            print(saved_plan_field(args.env, environ, planfile, args.field))
        else:
            if not planfile.is_file():
                raise TfError(f"no saved plan at {planfile}: run `make plan ENV={args.env}` first")
            summarise_saved_plan(args.env, init_env(args.env, environ), planfile, environ)
    elif args.command == "deploy":
        cfg = stack.StackConfig.from_env()
        if args.env == "local" and args.unless_current and local_deploy_is_current(cfg, environ):
            print(
                "==> ENV=local is up to date: nothing to apply (nothing a plan reads changed since the last deploy"
                " to this emulator; `make deploy ENV=local` plans against it anyway)"
            )
            return 0
        quiet = args.env == "local" and os.environ.get("VERBOSE", "") in ("", "0")
        log = cfg.run_dir / "terraform-local.log" if quiet else None
        deploy(args.env, environ, auto_approve, log=log)
        if args.env == "local":
            # The local runtime reads what was deployed from this file (it never runs Terraform itself).
            deployed.write(cfg, outputs("local", environ))
            record_local_deploy(cfg, environ)
    elif args.command == "destroy":
        destroy(args.env, environ, auto_approve)
    else:
        print(json.dumps(outputs(args.env, environ), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
