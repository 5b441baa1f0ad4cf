# imgpipe — every target bootstraps what it needs (virtualenvs from the committed lock files), idempotently.
# ENV=local targets the embedded emulator; ENV=staging|prod target a real AWS account.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
CHECKOV_VENV ?= .venv-checkov
ENV ?= local
ARCH ?= arm64
export ARCH
# `make up PROCESSING_MODE=lambda|containers|split`: who processes images locally (envs/local's default: split).
ifdef PROCESSING_MODE
export TF_VAR_processing_mode := $(PROCESSING_MODE)
endif

PY := $(VENV)/bin/python
ENVS := local staging prod cicd
VENV_STAMP := $(VENV)/.imgpipe-installed
PATH_STAMP := $(VENV)/.imgpipe-path
CHECKOV_STAMP := $(CHECKOV_VENV)/.imgpipe-installed
# scripts/ and the project's library (shared/imgpipe) import without an install step.
export PYTHONPATH := $(CURDIR):$(CURDIR)/shared

.PHONY: help demo test test-fast report up down status package lint lock fmt bench cost release smoke plan apply deploy destroy key revoke-key user disable-user bootstrap bootstrap-venv browser clean check-env

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-z-]+:.*## /{printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ------------------------------------------------------------------------------------------- bootstrap

# Every install is hash-checked (the lock files carry the SHA-256 of each file of each pinned version). pip puts
# in uv alone (requirements/bootstrap.lock, the same pin as dev.lock's); uv installs the rest, about ten times
# faster than pip (55 s → 6 s for dev.lock here, with an empty cache). uv reads its own index settings
# (UV_DEFAULT_INDEX, uv.toml), not pip.conf: see CONTRIBUTING.md for a mirror.
UV := $(VENV)/bin/uv
$(VENV_STAMP): requirements/dev.lock requirements/bootstrap.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "imgpipe needs Python 3.11+ (set PYTHON=python3.x)")'
	@echo "==> bootstrapping $(VENV) from requirements/dev.lock (first run only)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/bootstrap.lock
	@$(UV) pip install --quiet --python $(PY) --require-hashes -r requirements/dev.lock
	@touch $@

# So that `.venv/bin/python -m scripts.<tool>` works outside make too (the README's commands): the checkout and
# its library on the venv's path, as PYTHONPATH does for make's own recipes.
$(PATH_STAMP): $(VENV_STAMP)
	@$(PY) -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "imgpipe-checkout.pth").write_text("$(CURDIR)\n$(CURDIR)/shared\n")'
	@touch $@

$(CHECKOV_STAMP): requirements/checkov.lock $(VENV_STAMP)
	@echo "==> bootstrapping $(CHECKOV_VENV) from requirements/checkov.lock (first run only)"
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(UV) pip install --quiet --python $(CHECKOV_VENV)/bin/python --require-hashes -r requirements/checkov.lock
	@touch $@

bootstrap-venv: $(PATH_STAMP) $(CHECKOV_STAMP)

# The report's page is checked in headless Chromium, as a person would look at it. Debian's package where this
# user may install it (CI, containers); elsewhere an installed Chrome/Chromium or IMGPIPE_CHROMIUM=<binary>.
browser:
	@if [ -n "$${IMGPIPE_CHROMIUM:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
	    || command -v google-chrome >/dev/null || [ -x "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "==> installing Debian's chromium for the report page test (first run only)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	else \
	  echo "warning: no Chromium/Chrome found: the report page test will fail (install one or set IMGPIPE_CHROMIUM)" >&2; \
	fi

check-env:
	@case " $(ENVS) " in *" $(ENV) "*) ;; *) echo "error: unknown ENV=$(ENV): choose one of: $(ENVS)" >&2; exit 2;; esac

# ------------------------------------------------------------------------------------------- the two commands

demo: up ## run the pipeline locally on the embedded emulator and broker, and show the result
	@$(PY) -m scripts.dev.demo

# Workers for pytest-xdist: one more than the cores. The long tests mostly wait (the AWS provider's waiters during
# a deploy to the emulator, Lambda timeouts, a cache expiry), so an extra worker keeps the cores busy: on 2 cores,
# 3 workers run the suite in 609 s against 761 s with 2. The tests of the deployed stack share one worker.
# --no-loadscope-reorder: the order tests/conftest.py gives (longest first), not xdist's (biggest group first).
PYTEST_WORKERS ?= $(shell echo $$(( $$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1) + 1 )))
test: lint $(PATH_STAMP) browser ## lint, then every test: unit, terraform test suites, integration, e2e
	@$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder

report: up ## the BI reports on DuckDB over ENV=local's exports (tables here, charts in dist/report/index.html) [TENANT=id]
	@$(PY) -m scripts.dev.report $(if $(TENANT),--tenant "$(TENANT)")

test-fast: $(PATH_STAMP) ## unit tests only (no emulator, no terraform)
	@$(PY) -m pytest -n $(PYTEST_WORKERS) tests/unit

# ------------------------------------------------------------------------------------------- local stack

up: $(PATH_STAMP) ## start moto + Tansu, package, apply terraform/envs/local to the emulator, run the API and the processor
	@$(PY) -m scripts.local.stack up
	@$(PY) -m scripts.deploy.package
	@$(PY) -m scripts.deploy.tf deploy local --unless-current
	@$(PY) -m scripts.local.stack runtime

down: $(PATH_STAMP) ## stop the emulator and broker we started, and forget the local state
	@$(PY) -m scripts.local.stack down
	@rm -f terraform/envs/local/terraform.tfstate* terraform/envs/local/local.tfplan*

status: $(PATH_STAMP) ## show the emulator, broker, local API gateway and worker: state, ports, pid, uptime
	@$(PY) -m scripts.local.stack status || true

# ------------------------------------------------------------------------------------------- build & deploy

package: $(PATH_STAMP) ## build one deterministic zip per lambdas/<function> (ARCH=arm64|x86_64, OUT=dist/lambda)
	@$(PY) -m scripts.deploy.package $(if $(OUT),--out "$(OUT)")

plan: check-env $(PATH_STAMP) ## package, then terraform plan ENV=local|staging|prod|cicd saved to a file, and its summary
	@if [ "$(ENV)" != cicd ]; then $(PY) -m scripts.deploy.package; fi
	@$(PY) -m scripts.deploy.tf plan $(ENV)

# No virtualenv: applying a saved plan needs terraform and the standard library only, so the pipeline's apply
# stage (which holds deploy rights) installs nothing but Terraform. The venv's python when there is one.
APPLY_PY = $(if $(wildcard $(PY)),$(PY),$(PYTHON))
apply: check-env ## apply exactly the plan `make plan ENV=` saved (prod and cicd ask unless AUTO_APPROVE=1)
	@$(APPLY_PY) -m scripts.deploy.tf apply $(ENV)

deploy: check-env $(PATH_STAMP) ## package, plan and apply that plan to ENV (prod and cicd ask unless AUTO_APPROVE=1)
	@if [ "$(ENV)" != cicd ]; then $(PY) -m scripts.deploy.package; fi
	@$(PY) -m scripts.deploy.tf deploy $(ENV)

bootstrap: check-env $(PATH_STAMP) ## once per account: the state bucket and key of ENV=staging|prod|cicd, and its backend.hcl
	@$(PY) -m scripts.deploy.bootstrap $(ENV)

destroy: check-env $(PATH_STAMP) ## terraform destroy ENV
	@$(PY) -m scripts.deploy.tf destroy $(ENV)

smoke: check-env $(PATH_STAMP) ## smoke-test ENV's API end to end: IMGPIPE_API_KEY=<key> make smoke ENV=staging
	@$(PY) -m scripts.ops.smoke --env $(ENV)

key: check-env $(PATH_STAMP) ## issue an API key: make key KEY_ID=my-team OWNER="My team" [TENANT=team] [ENV=local]
	@test -n "$(KEY_ID)" -a -n "$(OWNER)" || { echo 'usage: make key KEY_ID=<id> OWNER="<who>" [TENANT=<tenant>] [ENV=local]' >&2; exit 2; }
	@$(PY) -m scripts.ops.keys issue "$(KEY_ID)" "$(OWNER)" --env $(ENV) $(if $(TENANT),--tenant "$(TENANT)")

revoke-key: check-env $(PATH_STAMP) ## revoke an API key: make revoke-key KEY_ID=my-team [ENV=local]
	@test -n "$(KEY_ID)" || { echo 'usage: make revoke-key KEY_ID=<id> [ENV=local]' >&2; exit 2; }
	@$(PY) -m scripts.ops.keys revoke "$(KEY_ID)" --env $(ENV)

user: check-env $(PATH_STAMP) ## add a web user to a tenant: make user USERNAME=alice TENANT=team-a [EMAIL=a@example.com] [ENV=local]
	@test -n "$(USERNAME)" -a -n "$(TENANT)" || { echo 'usage: make user USERNAME=<name> TENANT=<tenant> [EMAIL=<address>] [ENV=local]' >&2; exit 2; }
	@$(PY) -m scripts.ops.users add "$(USERNAME)" --tenant "$(TENANT)" --env $(ENV) $(if $(EMAIL),--email "$(EMAIL)")

disable-user: check-env $(PATH_STAMP) ## disable a web user and revoke its refresh tokens: make disable-user USERNAME=alice [ENV=local]
	@test -n "$(USERNAME)" || { echo 'usage: make disable-user USERNAME=<name> [ENV=local]' >&2; exit 2; }
	@$(PY) -m scripts.ops.users disable "$(USERNAME)" --env $(ENV)

# ------------------------------------------------------------------------------------------- quality

RUNTIME_PROVIDED := boto3 botocore s3transfer jmespath python-dateutil six urllib3
UV_COMPILE = $(UV) pip compile --quiet --generate-hashes --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

lock: $(PATH_STAMP) ## regenerate requirements/*.lock with hashes (keeps every pin; UPGRADE=1 moves them)
	@$(UV_COMPILE) pyproject.toml --extra dev --universal --python-version 3.11 -o requirements/dev.lock
	@$(UV_COMPILE) requirements/bootstrap.in --constraint requirements/dev.lock --universal --python-version 3.11 \
	    -o requirements/bootstrap.lock
	@$(UV_COMPILE) requirements/checkov.in --universal --python-version 3.11 -o requirements/checkov.lock
	@$(UV_COMPILE) pyproject.toml --python-version 3.12 --python-platform aarch64-manylinux_2_28 \
	    $(foreach p,$(RUNTIME_PROVIDED),--no-emit-package $(p)) -o requirements/lambda.lock
	@echo "==> requirements/*.lock regenerated with hashes: review the diff (requirements/README.md)"

lint: $(PATH_STAMP) $(CHECKOV_STAMP) ## ruff, mypy, terraform fmt/validate, checkov, tflint (where installed)
	@$(PY) -m scripts.dev.lint

fmt: $(PATH_STAMP) ## format Python and Terraform in place
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix --quiet .
	@terraform fmt -recursive terraform

bench: $(PATH_STAMP) ## benchmarks, each against a reference in the same run [ONLY="engine hostile imports upload throughput kafka"]
	@$(PY) -m scripts.dev.bench $(ONLY)

cost: $(PATH_STAMP) ## price a million images from `make bench`'s results: make cost [REGION=us-east-1] [IMAGES=1000000]
	@$(PY) -m scripts.dev.cost --region $(or $(REGION),us-east-1) --images $(or $(IMAGES),1000000)

release: $(PATH_STAMP) ## tag v<version> (pyproject.toml) on a clean tree whose CHANGELOG has that version's section
	@$(PY) -m scripts.deploy.release tag

clean: ## stop the local stack, remove build outputs and virtualenvs
	@if [ -x $(PY) ]; then $(PY) -m scripts.local.stack down; fi
	@rm -f terraform/envs/local/terraform.tfstate*
	@rm -rf dist .build $(VENV) $(CHECKOV_VENV) .pytest_cache .mypy_cache .ruff_cache
