# CertWarden's interface. Every target installs what it needs on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOTSTRAP ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
# promtool from Debian's prometheus package, extracted (no server is installed or started).
PROMTOOL := tools/prometheus/usr/bin/promtool
OUT ?= cdk.out
ENV ?=
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_CLI_NOTICES := false

.PHONY: system-deps help setup synth test lint typecheck unit checkov demo k8s bench bench-scan clean

help:
	@echo "make synth       synthesize every configured environment (ENV=name for one), nag-checked"
	@echo "make test        everything CI runs: lint, types, tests, checkov"
	@echo "make demo        the daily certificate job against an embedded moto AWS"
	@echo "make k8s         Kubernetes manifests for every environment into k8s-out/"
	@echo "make bench       fleet API-call benchmark;  make bench-scan  TLS scanner benchmark"

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed build/lambda-wheelhouse/.complete system-deps

# TLS scanner: Lambda wheelhouse (manylinux cp314 wheels; synth installs from it offline) and the
# Debian packages of its test lab and benchmark (nginx, sslscan, testssl.sh), both idempotent.
LAMBDA_WHEELHOUSE := build/lambda-wheelhouse
$(LAMBDA_WHEELHOUSE)/.complete: lambda_src/requirements-scanner.txt scripts/build-lambda-wheelhouse.sh $(VENV)/.installed
	bash scripts/build-lambda-wheelhouse.sh $(PY) $(LAMBDA_WHEELHOUSE)

system-deps:
	bash scripts/install-system-deps.sh

$(PROMTOOL):
	mkdir -p tools/prometheus
	cd tools && rm -f prometheus_*.deb && (apt-get download prometheus 2>/dev/null || (apt-get update -qq && apt-get download prometheus))
	dpkg-deb -x tools/prometheus_*.deb tools/prometheus
	rm -f tools/prometheus_*.deb
	test -x $@ && touch $@

synth: setup
	rm -rf $(OUT)
	$(CDK) synth --quiet --output $(OUT) $(if $(ENV),-c env=$(ENV),)
	$(PY) -m cdk_app.summary $(OUT)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy --strict lambda_src/certwarden_runtime certwarden_cdk certwarden_k8s cdk_app app.py demo bench tests

# Coverage of every package is reported; the runtime (what runs in the Lambda) must keep 90 %.
COV_PACKAGES := certwarden_runtime certwarden_cdk certwarden_k8s cdk_app
unit: setup $(PROMTOOL)
	$(PY) -m pytest -q $(addprefix --cov=,$(COV_PACKAGES)) --cov-report=term:skip-covered
	@printf 'certwarden_runtime line coverage (gate: 90%%): '
	@$(PY) -m coverage report --include='lambda_src/certwarden_runtime/*' --fail-under=90 --format=total

# checkov conflicts with the app's pins (boto3, PyYAML, networkx...): its own virtual environment.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_ASSEMBLY := build/checkov-assembly
# cdk.json's context, as `cdk synth` passes it to the app, and every environment.
CDK_CONTEXT = $$($(PY) -c 'import json; c = json.load(open("cdk.json"))["context"]; print(json.dumps({**c, "env": "all"}))')

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON_BOOTSTRAP) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

# checkov on the templates of every environment, synthesized through the entry point (no CDK
# CLI) into a folder of its own, scanned offline (--skip-download). A failed check fails the
# target; an exception is a skip with its reason in one resource's metadata
# (certwarden_cdk/_checkov.py), never a --skip-check here. checkov exits 0 on templates it
# cannot parse, so its JSON summary is checked too.
checkov: setup $(CHECKOV_VENV)/.installed
	rm -rf $(CHECKOV_ASSEMBLY)
	CDK_OUTDIR=$(CHECKOV_ASSEMBLY) CDK_CONTEXT_JSON="$(CDK_CONTEXT)" $(PY) app.py
	$(CHECKOV) --skip-download --framework cloudformation --quiet --compact \
		--output cli --output json --output-file-path console,$(CHECKOV_ASSEMBLY)/checkov.json \
		--file $(CHECKOV_ASSEMBLY)/*.template.json
	@$(PY) -c 'import json, sys; s = json.load(open(sys.argv[1]))["summary"]; \
		bad = s["parsing_errors"] or not s["resource_count"] or s["failed"]; \
		print("checkov:", s); sys.exit("checkov: a template did not parse, or none was scanned" if bad else 0)' \
		$(CHECKOV_ASSEMBLY)/checkov.json

test: lint typecheck unit checkov

k8s: setup $(PROMTOOL)
	PYTHONPATH=lambda_src JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(PY) -m certwarden_k8s --out k8s-out --rules build/promtool/certwarden-rules.yaml $(if $(ENV),--env $(ENV),)
	$(PROMTOOL) check rules build/promtool/certwarden-rules.yaml

demo: setup
	$(PY) demo/run_demo.py

bench: setup
	$(PY) bench/bench_fleet.py

bench-scan: setup
	$(PY) bench/bench_scan.py

clean:
	rm -rf $(OUT) k8s-out demo-output .pytest_cache .mypy_cache .ruff_cache
