"""The CodeBuild buildspecs the cicd module runs: valid buildspec YAML, every command something this repository
has (make targets, scripts, files), every variable set by someone, the apply stage only applying the saved plan;
the pinned-tool installer refusing what does not match its published sums; and the deploy role's service list
covering every resource type the modules declare."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

CI_DIR = REPO_ROOT / "ci"
CICD_MAIN = (REPO_ROOT / "terraform" / "modules" / "cicd" / "main.tf").read_text()
STAGES = re.findall(r'"(\w+)"', re.search(r"stages\s*=\s*toset\(\[([^\]]*)\]\)", CICD_MAIN).group(1))  # type: ignore[union-attr]
TOP_LEVEL = {"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"}
ENV_KEYS = {"shell", "variables", "parameter-store", "exported-variables", "secrets-manager", "git-credential-helper"}
PHASES = ["install", "pre_build", "build", "post_build"]
PHASE_KEYS = {"run-as", "on-failure", "runtime-versions", "commands", "finally"}
# Set by CodeBuild itself in every build (https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html).
CODEBUILD_VARIABLES = {"CODEBUILD_SRC_DIR", "CODEBUILD_BUILD_ID", "CODEBUILD_RESOLVED_SOURCE_VERSION", "HOME", "PATH"}


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
        text += _braced(CICD_MAIN, CICD_MAIN.index(f"{name} = {{") + len(f"{name} = "))
    return text


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE))


def test_every_stage_of_the_module_has_its_buildspec() -> None:
    assert STAGES == ["test", "plan", "apply"]
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
        for module in re.findall(r"-m (scripts\.\w+)", command):
            assert (REPO_ROOT / (module.replace(".", "/") + ".py")).is_file(), f"{stage}: no {module}"


@pytest.mark.parametrize("stage", STAGES)
def test_every_variable_is_set_by_the_buildspec_codebuild_or_the_module(stage: str) -> None:
    spec = buildspec(stage)
    own = set(spec.get("env", {}).get("variables", {})) | set(spec.get("env", {}).get("exported-variables", []))
    from_module = set(re.findall(r"\b([A-Z][A-Z0-9_]*)\s*=", module_environment(stage)))
    script = "\n".join([*commands(spec), (CI_DIR / "install-tools.sh").read_text()])
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
    """A fake release server: curl on PATH copies from here by URL; a terraform and a tflint zip with sums."""
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
    sums = subprocess.run(["sha256sum", "tflint_linux_amd64.zip"], cwd=served, capture_output=True, text=True)
    (served / "checksums.txt").write_text(sums.stdout)
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(
        f'#!/bin/bash\nout=""; url=""\nwhile [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift 2;; --proto) shift 2;; '
        f'-*) shift;; *) url=$1; shift;; esac; done\necho "$url" >> {tmp_path}/fetched\n'
        f'cp "{served}/$(basename "$url")" "$out" 2>/dev/null || {{ echo "404 $url" >&2; exit 22; }}\n'
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
        **env,
    }
    return subprocess.run(["bash", str(CI_DIR / "install-tools.sh")], env=environ, capture_output=True, text=True)


def test_installs_the_pinned_tools_from_the_vendor_urls_once(releases: Path) -> None:
    first = install(releases, TFLINT_VERSION="0.55.1")
    assert first.returncode == 0, first.stderr
    assert "terraform 1.11.4 installed" in first.stdout and "tflint 0.55.1 installed" in first.stdout
    fetched = (releases / "fetched").read_text().split()
    assert "https://releases.hashicorp.com/terraform/1.11.4/terraform_1.11.4_linux_amd64.zip" in fetched
    assert "https://github.com/terraform-linters/tflint/releases/download/v0.55.1/checksums.txt" in fetched
    version = subprocess.run([str(releases / "bin" / "terraform"), "version"], capture_output=True, text=True)
    assert version.stdout.strip() == "Terraform v1.11.4"

    second = install(releases, TFLINT_VERSION="0.55.1")
    assert "terraform 1.11.4 already installed" in second.stdout and "tflint 0.55.1 already installed" in second.stdout
    assert len((releases / "fetched").read_text().split()) == len(fetched)  # nothing downloaded again


def test_a_download_that_does_not_match_its_sums_is_not_installed(releases: Path) -> None:
    zip_path = releases / "served" / "terraform_1.11.4_linux_amd64.zip"
    zip_path.write_bytes(zip_path.read_bytes() + b"tampered")
    result = install(releases)
    assert result.returncode != 0
    assert "does not match its published SHA-256" in result.stderr
    assert not (releases / "bin" / "terraform").exists()


def test_a_version_that_is_not_published_is_an_error(releases: Path) -> None:
    result = install(releases, TERRAFORM_VERSION="9.9.9")
    assert result.returncode != 0 and "404" in result.stderr
    assert not (releases / "bin" / "terraform").exists()


def test_terraform_version_is_required(releases: Path) -> None:
    result = install(releases, TERRAFORM_VERSION="")
    assert result.returncode != 0 and "set TERRAFORM_VERSION" in result.stderr


# ------------------------------------------------------------------------------------------ the deploy role

# IAM service prefix of each resource type family the modules declare. A new family fails the test below until
# it is mapped here and, when the apply role lacks it, granted in terraform/modules/cicd (deploy_services).
SERVICE_OF = {
    "aws_accessanalyzer_": "access-analyzer",
    "aws_api_gateway_": "apigateway",
    "aws_athena_": "athena",
    "aws_cloudtrail": "cloudtrail",
    "aws_cloudwatch_metric_alarm": "cloudwatch",
    "aws_cloudwatch_dashboard": "cloudwatch",
    "aws_cloudwatch_log_group": "logs",
    "aws_cloudwatch_event_": "events",
    "aws_dynamodb_": "dynamodb",
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
    for main_tf in (REPO_ROOT / "terraform" / "modules").glob("*/main.tf"):
        if main_tf.parent.name == "cicd":
            continue
        for resource_type in re.findall(r'^resource "(aws_[a-z0-9_]+)"', main_tf.read_text(), re.MULTILINE):
            prefix = next((p for p in SERVICE_OF if resource_type.startswith(p)), None)
            assert prefix, f"{resource_type} ({main_tf.parent.name}): map it to its IAM service in SERVICE_OF"
            used[resource_type] = SERVICE_OF[prefix]
    needed = set(used.values()) - GRANTED_APART
    assert needed <= services, f"the apply role lacks {sorted(needed - services)}"
    assert services <= needed, f"the apply role grants services no module uses: {sorted(services - needed)}"
