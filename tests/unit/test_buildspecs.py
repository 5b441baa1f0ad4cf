"""The CodeBuild buildspecs the cicd module runs: valid buildspec YAML, every command something this repository
has (make targets, scripts, files), every variable set by someone, the apply stage only applying the saved plan;
the pinned-tool installer refusing what does not match its published sums; and the deploy role's service list
covering every resource type the modules declare."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

CI_DIR = REPO_ROOT / "ci"
# The cicd module, every file of it (main.tf is split by concern: artifacts.tf, build.tf, pipeline.tf, source.tf).
CICD_MAIN = "".join(p.read_text() for p in sorted((REPO_ROOT / "terraform" / "modules" / "cicd").glob("*.tf")))
STAGES = re.findall(r'"(\w+)"', re.search(r"stages\s*=\s*toset\(\[([^\]]*)\]\)", CICD_MAIN).group(1))  # type: ignore[union-attr]
TOP_LEVEL = {"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"}
ENV_KEYS = {"shell", "variables", "parameter-store", "exported-variables", "secrets-manager", "git-credential-helper"}
PHASES = ["install", "pre_build", "build", "post_build"]
PHASE_KEYS = {"run-as", "on-failure", "runtime-versions", "commands", "finally"}
# Set by CodeBuild itself in every build (https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html).
CODEBUILD_VARIABLES = {
    "CODEBUILD_SRC_DIR",
    "CODEBUILD_BUILD_ID",
    "CODEBUILD_RESOLVED_SOURCE_VERSION",
    "HOME",
    "PATH",
    "AWS_REGION",
}


def buildspec(stage: str) -> dict[str, Any]:
    loaded = yaml.safe_load((CI_DIR / f"buildspec-{stage}.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def commands(spec: dict[str, Any]) -> list[str]:
    return [command for phase in PHASES for command in spec.get("phases", {}).get(phase, {}).get("commands", [])]


def _braced(text: str, opening: int) -> str:
    """The text between the brace at `opening` and its match."""
    depth, index = 1, opening + 1
    while depth:
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        index += 1
    return text[opening + 1 : index - 1]


def module_environment(stage: str) -> str:
    """What `<stage> = ...` sets inside the cicd module's build_environment local, locals it names included."""
    block = _braced(CICD_MAIN, CICD_MAIN.index("build_environment = {") + len("build_environment = "))
    line = re.search(rf"^\s*{stage}\s*=\s*(.*)$", block, re.MULTILINE)
    assert line, f"no {stage} in build_environment"
    value = line.group(1)
    text = _braced(block, line.start(1)) if value.startswith("{") and not value.rstrip().endswith("}") else value
    for name in re.findall(r"local\.(\w+)", text):
        if f"{name} = {{" in CICD_MAIN:  # a map of variables (a string local is a value, not more names)
            text += _braced(CICD_MAIN, CICD_MAIN.index(f"{name} = {{") + len(f"{name} = "))
    return text


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE))


def test_every_stage_of_the_module_has_its_buildspec() -> None:
    assert STAGES == ["test", "image", "plan", "apply"]
    assert sorted(p.name for p in CI_DIR.glob("buildspec-*.yml")) == sorted(f"buildspec-{s}.yml" for s in STAGES)
    assert 'buildspec = "ci/buildspec-${each.key}.yml"' in CICD_MAIN


@pytest.mark.parametrize("stage", STAGES)
def test_buildspec_is_valid_codebuild_yaml(stage: str) -> None:
    spec = buildspec(stage)
    assert spec["version"] == 0.2
    assert set(spec) <= TOP_LEVEL, set(spec) - TOP_LEVEL
    assert set(spec.get("env", {})) <= ENV_KEYS
    assert all(isinstance(v, str) for v in spec.get("env", {}).get("variables", {}).values()), "values must be strings"
    assert set(spec["phases"]) <= set(PHASES)
    for name, phase in spec["phases"].items():
        assert set(phase) <= PHASE_KEYS, (name, set(phase) - PHASE_KEYS)
        assert phase["commands"] and all(isinstance(c, str) for c in phase["commands"]), name
        assert "runtime-versions" not in phase or name == "install"
    for command in commands(spec):
        checked = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
        assert checked.returncode == 0, f"{stage}: {command}: {checked.stderr}"


@pytest.mark.parametrize("stage", STAGES)
def test_every_command_names_something_the_repository_has(stage: str) -> None:
    targets = make_targets()
    for command in commands(buildspec(stage)):
        words = shlex.split(command, posix=True) if "$(" not in command else command.split()
        if words[0] == "make":
            named = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
            assert named and set(named) <= targets, f"{stage}: {command}: not a Makefile target"
        for path in re.findall(r"\b(ci/[\w.-]+)", command):
            assert (REPO_ROOT / path).is_file(), f"{stage}: {path} does not exist"
        for module in re.findall(r"-m (scripts(?:\.\w+)+)", command):
            path = REPO_ROOT / module.replace(".", "/")
            assert path.with_suffix(".py").is_file() or (path / "__main__.py").is_file(), f"{stage}: no {module}"


@pytest.mark.parametrize("stage", STAGES)
def test_every_variable_is_set_by_the_buildspec_codebuild_or_the_module(stage: str) -> None:
    spec = buildspec(stage)
    own = set(spec.get("env", {}).get("variables", {})) | set(spec.get("env", {}).get("exported-variables", []))
    from_module = set(re.findall(r"\b([A-Z][A-Z0-9_]*)\s*=", module_environment(stage)))
    ran = [*commands(spec)]
    ran += [(CI_DIR / name).read_text() for name in re.findall(r"\bci/([\w-]+\.sh)", "\n".join(ran))]
    script = "\n".join(ran)
    optional = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):-", script))  # has a default where it is used
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", script)) - optional
    missing = used - own - from_module - CODEBUILD_VARIABLES
    assert not missing, f"{stage} uses variables nobody sets: {sorted(missing)}"


def test_the_approval_shows_what_the_plan_stage_exports() -> None:
    exported = set(buildspec("plan")["env"]["exported-variables"])
    shown = set(re.findall(r"#\{Plan\.([A-Z_]+)\}", CICD_MAIN))
    assert shown and shown <= exported, shown - exported
    assert 'namespace        = "Plan"' in CICD_MAIN


def test_test_stage_runs_the_readme_test_command_and_reports_to_its_group() -> None:
    spec = buildspec("test")
    assert "make lint test" in commands(spec)
    (report,) = spec["reports"]
    assert f'report-group/${{local.name}}-test-{report}"' in CICD_MAIN  # the group the role may write
    assert spec["reports"][report]["files"] == [spec["env"]["variables"]["PYTEST_ADDOPTS"].split("=", 1)[1]]


def test_plan_stage_saves_the_plan_and_passes_all_of_it_on() -> None:
    spec = buildspec("plan")
    assert 'make plan ENV="$IMGPIPE_ENV"' in commands(spec)
    assert spec["artifacts"]["files"] == ["**/*"]
    assert ".venv/**/*" in spec["artifacts"]["exclude-paths"]
    assert not any("**/dist" in p or p.startswith("dist") for p in spec["artifacts"]["exclude-paths"])


def test_apply_stage_only_applies_the_saved_plan() -> None:
    script = "\n".join(commands(buildspec("apply")))
    assert 'make apply ENV="$IMGPIPE_ENV"' in script
    for forbidden in ("make plan", "make deploy", "make package", "terraform plan", "-auto-approve", "terraform apply"):
        assert forbidden not in script, forbidden
    assert "buildspec" not in buildspec("apply").get("artifacts", {})  # nothing produced


# ------------------------------------------------------------------------------------------ install-tools.sh


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    """A fake release server: curl on PATH copies from here by URL; a terraform and a tflint zip with the vendor's
    sums beside them, and this repository's pins (terraform only) in a file of the test's own."""
    served = tmp_path / "served"
    served.mkdir()
    for tool, zip_name, version_line in [
        ("terraform", "terraform_1.11.4_linux_amd64.zip", "Terraform v1.11.4"),
        ("tflint", "tflint_linux_amd64.zip", "TFLint version 0.55.1"),
    ]:
        with zipfile.ZipFile(served / zip_name, "w") as archive:
            info = zipfile.ZipInfo(tool)
            info.external_attr = 0o755 << 16
            archive.writestr(info, f"#!/bin/sh\necho '{version_line}'\n")
    sums = subprocess.run(["sha256sum", "terraform_1.11.4_linux_amd64.zip"], cwd=served, capture_output=True, text=True)
    (served / "terraform_1.11.4_SHA256SUMS").write_text(sums.stdout)
    (tmp_path / "pins.sha256").write_text("# pinned\n" + sums.stdout)
    sums = subprocess.run(["sha256sum", "tflint_linux_amd64.zip"], cwd=served, capture_output=True, text=True)
    (served / "checksums.txt").write_text(sums.stdout)
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(
        f'#!/bin/bash\nout=""; url=""\nwhile [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift 2;; --proto) shift 2;; '
        f'-*) shift;; *) url=$1; shift;; esac; done\necho "$url" >> {tmp_path}/fetched\n'
        f'src="{served}/$(basename "$url")"; [ -f "$src" ] || {{ echo "404 $url" >&2; exit 22; }}\n'
        f'if [ -n "$out" ]; then cp "$src" "$out"; else cat "$src"; fi\n'
    )
    (bin_dir / "curl").chmod(0o755)
    (bin_dir / "uname").write_text("#!/bin/sh\necho x86_64\n")
    (bin_dir / "uname").chmod(0o755)
    return tmp_path


def install(releases: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "PATH": f"{releases / 'fakebin'}:{os.environ['PATH']}",
        "INSTALL_DIR": str(releases / "bin"),
        "TERRAFORM_VERSION": "1.11.4",
        "TOOL_CHECKSUMS": str(releases / "pins.sha256"),
        **env,
    }
    return subprocess.run(["bash", str(CI_DIR / "install-tools.sh")], env=environ, capture_output=True, text=True)


def fetched(releases: Path) -> list[str]:
    path = releases / "fetched"
    return path.read_text().split() if path.is_file() else []


def test_installs_the_pinned_tools_from_the_vendor_urls_once(releases: Path) -> None:
    first = install(releases, TFLINT_VERSION="0.55.1", TRUST_VENDOR_SUMS="tflint")
    assert first.returncode == 0, first.stderr
    assert "terraform 1.11.4 installed" in first.stdout and "tflint 0.55.1 installed" in first.stdout
    urls = fetched(releases)
    assert "https://releases.hashicorp.com/terraform/1.11.4/terraform_1.11.4_linux_amd64.zip" in urls
    # Terraform is checked against the repository's pin: its vendor sums are never even fetched.
    assert not [u for u in urls if "SHA256SUMS" in u]
    # tflint, not pinned, only because TRUST_VENDOR_SUMS names it, and said so.
    assert "https://github.com/terraform-linters/tflint/releases/download/v0.55.1/checksums.txt" in urls
    assert "tflint_0.55.1_linux_amd64.zip has no SHA-256 pinned" in first.stderr
    version = subprocess.run([str(releases / "bin" / "terraform"), "version"], capture_output=True, text=True)
    assert version.stdout.strip() == "Terraform v1.11.4"

    second = install(releases, TFLINT_VERSION="0.55.1", TRUST_VENDOR_SUMS="tflint")
    assert "terraform 1.11.4 already installed" in second.stdout and "tflint 0.55.1 already installed" in second.stdout
    assert len(fetched(releases)) == len(urls)  # nothing downloaded again


def test_a_download_that_does_not_match_its_pin_is_not_installed(releases: Path) -> None:
    zip_path = releases / "served" / "terraform_1.11.4_linux_amd64.zip"
    # The origin is compromised: the binary and the sums it publishes beside it agree with each other.
    zip_path.write_bytes(zip_path.read_bytes() + b"tampered")
    sums = subprocess.run(["sha256sum", zip_path.name], cwd=zip_path.parent, capture_output=True, text=True)
    (releases / "served" / "terraform_1.11.4_SHA256SUMS").write_text(sums.stdout)
    result = install(releases)
    assert result.returncode != 0
    assert "does not match its SHA-256" in result.stderr
    assert not (releases / "bin" / "terraform").exists()


def test_a_tool_without_a_pin_is_refused_before_it_is_downloaded(releases: Path) -> None:
    result = install(releases, TERRAFORM_VERSION="9.9.9")
    assert result.returncode != 0 and "terraform_9.9.9_linux_amd64.zip has no SHA-256 pinned" in result.stderr
    assert fetched(releases) == [] and not (releases / "bin" / "terraform").exists()
    result = install(releases, TFLINT_VERSION="0.55.1")  # tflint unpinned and not trusted
    assert result.returncode != 0 and "tflint_0.55.1_linux_amd64.zip has no SHA-256 pinned" in result.stderr
    assert not (releases / "bin" / "tflint").exists()


def test_terraform_version_is_required(releases: Path) -> None:
    result = install(releases, TERRAFORM_VERSION="")
    assert result.returncode != 0 and "set TERRAFORM_VERSION" in result.stderr


def test_pin_tools_appends_the_linux_sums_the_vendor_publishes(releases: Path) -> None:
    served = releases / "served"
    (served / "terraform_1.12.0_SHA256SUMS").write_text(
        "".join(
            f"{c * 64}  terraform_1.12.0_{p}.zip\n"
            for c, p in zip("abcd", ["darwin_arm64", "linux_amd64", "linux_arm64", "windows_amd64"], strict=True)
        )
    )
    (served / "checksums.txt").write_text(f"{'e' * 64}  tflint_linux_amd64.zip\n{'f' * 64}  tflint_linux_arm64.zip\n")
    pins = releases / "pins.sha256"
    environ = {**os.environ, "PATH": f"{releases / 'fakebin'}:{os.environ['PATH']}", "TOOL_CHECKSUMS": str(pins)}
    for tool, version in (("terraform", "1.12.0"), ("tflint", "0.56.0")):
        out = subprocess.run(
            ["bash", str(CI_DIR / "pin-tools.sh"), tool, version], env=environ, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
    lines = pins.read_text().splitlines()[-4:]
    assert lines == [
        f"{'b' * 64}  terraform_1.12.0_linux_amd64.zip",
        f"{'c' * 64}  terraform_1.12.0_linux_arm64.zip",
        f"{'e' * 64}  tflint_0.56.0_linux_amd64.zip",
        f"{'f' * 64}  tflint_0.56.0_linux_arm64.zip",
    ]


def test_the_repository_pins_the_terraform_the_pipeline_installs_and_only_the_test_stage_trusts_a_vendor() -> None:
    variables = (REPO_ROOT / "terraform" / "modules" / "cicd" / "variables.tf").read_text()
    version = re.search(r'variable "terraform_version" \{[^}]*?default\s*=\s*"([0-9.]+)"', variables, re.S)
    assert version is not None
    pins = {
        line.split()[1]: line.split()[0]
        for line in (CI_DIR / "tool-checksums.sha256").read_text().splitlines()
        if line and not line.startswith("#")
    }
    for arch in ("amd64", "arm64"):
        assert re.fullmatch(r"[0-9a-f]{64}", pins[f"terraform_{version.group(1)}_linux_{arch}.zip"])
    trusted = {stage: buildspec(stage).get("env", {}).get("variables", {}).get("TRUST_VENDOR_SUMS") for stage in STAGES}
    assert trusted == {
        "test": "tflint",
        "image": None,
        "plan": None,
        "apply": None,
    }  # never terraform, never a stage with rights


# ------------------------------------------------------------------------------------------ the deploy role

# IAM service prefix of each resource type family the modules declare. A new family fails the test below until
# it is mapped here and, when the apply role lacks it, granted in terraform/modules/cicd (deploy_services).
SERVICE_OF = {
    "aws_accessanalyzer_": "access-analyzer",
    "aws_api_gateway_": "apigateway",
    "aws_appautoscaling_": "application-autoscaling",
    "aws_athena_": "athena",
    "aws_cloudfront_": "cloudfront",
    "aws_cloudtrail": "cloudtrail",
    "aws_cognito_": "cognito-idp",
    "aws_cloudwatch_metric_alarm": "cloudwatch",
    "aws_cloudwatch_dashboard": "cloudwatch",
    "aws_cloudwatch_log_group": "logs",
    "aws_cloudwatch_event_": "events",
    "aws_dynamodb_": "dynamodb",
    "aws_ecs_": "ecs",
    "aws_glue_": "glue",
    "aws_guardduty_": "guardduty",
    "aws_iam_": "iam",
    "aws_kms_": "kms",
    "aws_lambda_": "lambda",
    "aws_msk_": "kafka",
    "aws_quicksight_": "quicksight",
    "aws_s3_": "s3",
    "aws_secretsmanager_": "secretsmanager",
    "aws_sns_": "sns",
    "aws_sqs_": "sqs",
    "aws_wafv2_": "wafv2",
    "aws_vpc_endpoint": "ec2",
    "aws_security_group": "ec2",
    "aws_vpc_security_group_": "ec2",
}
GRANTED_APART = {"iam", "ec2"}  # scoped statements of their own in the apply role


def test_the_apply_role_covers_every_service_the_stack_uses() -> None:
    services = set(re.findall(r'"([a-z0-9-]+)"', CICD_MAIN.split("deploy_services = [", 1)[1].split("]", 1)[0]))
    used: dict[str, str] = {}
    for tf_file in (REPO_ROOT / "terraform" / "modules").glob("*/*.tf"):
        if tf_file.parent.name == "cicd":
            continue
        for resource_type in re.findall(r'^resource "(aws_[a-z0-9_]+)"', tf_file.read_text(), re.MULTILINE):
            prefix = next((p for p in SERVICE_OF if resource_type.startswith(p)), None)
            assert prefix, f"{resource_type} ({tf_file.parent.name}): map it to its IAM service in SERVICE_OF"
            used[resource_type] = SERVICE_OF[prefix]
    needed = set(used.values()) - GRANTED_APART
    assert needed <= services, f"the apply role lacks {sorted(needed - services)}"
    assert services <= needed, f"the apply role grants services no module uses: {sorted(services - needed)}"


def test_the_apply_stage_needs_terraform_and_the_standard_library_only() -> None:
    # The stage that holds deploy rights installs no development toolchain: `make apply` builds no virtualenv ...
    dry_run = subprocess.run(
        ["make", "-n", "apply", "ENV=staging", "VENV=/nonexistent-venv"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "pip" not in dry_run and "venv" not in dry_run.replace("/nonexistent-venv", "")
    assert dry_run.strip().splitlines()[-1].endswith("-m scripts.deploy.tf apply staging")
    # ... and what it runs imports nothing outside the standard library (no site-packages at all: -S).
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1]]; import scripts.deploy.tf; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'yaml', 'pydantic', 'moto')))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(REPO_ROOT)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
