# live-fraud-detector: thin wrappers over stack/install.sh and the `lfd` CLI.
# `make help` lists the targets. Everything installs itself: `make demo` and `make test` work on a
# fresh machine (first run builds the Kubernetes control plane and Pulumi from source: ~20 minutes on 2 cores).

SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
LFD := $(VENV)/bin/lfd
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: help setup demo demo-operator demo-drift test test-unit lint security fuzz up down status bench bench-scoring bench-streaming bench-rollout test-node train promote serve operator produce stream

help: ## show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: ## install apt packages, uv, both Python environments, Maven jars and Go-built binaries (cached)
	@bash stack/install.sh all

up: setup ## start the whole local stack and wait until healthy
	@$(LFD) stack up

down: ## stop every stack process (by PID)
	@if [ -x $(LFD) ]; then $(LFD) stack down; else echo "nothing installed"; fi

status: ## one line per stack component; exit 1 if any is unhealthy
	@$(LFD) stack status

demo: up ## bring the stack up and show each part alive, then a blue-green rollout on real pods
	@$(PY) -m lfd_dev.demo
	@$(PY) -m lfd_dev.demo_operator

demo-operator: up ## blue-green rollout on REAL pods: operator pod, gates through Services, rollback, bad model refused
	@$(PY) -m lfd_dev.demo_operator

demo-drift: up ## the monitoring loop: unshifted then drifted stream, trigger fires, dashboard before/after
	@$(PY) -m lfd_dev.demo_drift

test: setup ## install everything and run every test tier (unit, integration, e2e) against the real stack
	@$(VENV)/bin/pytest $(PYTEST_ARGS)

test-node: setup ## only the real-node tests (containerd+kubelet+kube-proxy; part of make test too)
	@$(VENV)/bin/pytest tests/node $(PYTEST_ARGS)

test-unit: ## only the unit tier (no components)
	@$(VENV)/bin/pytest -m unit $(PYTEST_ARGS)

security: setup ## scanners alone: bandit, dependency advisories (both locks), detect-secrets, checkov on Dockerfiles (docs/security.md)
	@$(VENV)/bin/pytest tests/security/test_scanners.py tests/security/test_dockerfiles.py::test_checkov_passes_every_dockerfile -p no:cacheprovider $(PYTEST_ARGS)

FUZZ_EXAMPLES ?= 300
fuzz: setup ## long fuzzing of every interface (FUZZ_EXAMPLES per property); summary into docs/security.md
	@rm -f bench/results/fuzz.json
	@LFD_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) LFD_FUZZ_SUMMARY=bench/results/fuzz.json \
		$(VENV)/bin/pytest tests/security -k "fuzz or poison" -p no:cacheprovider $(PYTEST_ARGS)
	@$(PY) -m tests.security.summary bench/results/fuzz.json docs/security.md

lint: ## ruff, mypy and the import layers (.importlinter)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy pipelines/lfd services/scoring operator/fraud_operator stack/lfd_dev pulumi/lfd_cloud charts/values_schema.py
	@$(VENV)/bin/lint-imports --no-cache --no-logo

train: setup ## train XGBoost + LightGBM on the dev data, register the winner as fraud-detector@challenger
	@$(LFD) stack up mlflow
	@$(LFD) train $(ARGS)

promote: ## move fraud-detector@champion to the current challenger (ARGS="--version N" for another)
	@$(LFD) promote $(ARGS)

serve: ## serve fraud-detector@champion over HTTP :3000 and gRPC :8001
	@$(LFD) serve $(ARGS)

operator: ## run the FraudModel operator against the local control plane
	@$(LFD) stack up kubernetes prometheus
	@$(LFD) operator run $(ARGS)

produce: ## replay transactions into Kafka (ARGS="--rate 500 --count 10000 ...")
	@$(LFD) produce $(ARGS)

stream: ## run the PyFlink scoring job locally (ARGS="--scoring-url http://127.0.0.1:3000 ...")
	@$(LFD) stream $(ARGS)

bench: bench-scoring bench-streaming ## every benchmark (results in bench/results, summary in BENCHMARKS.md)

bench-scoring: setup ## scoring paths (HTTP single/batch, gRPC) vs `mlflow models serve` and MLServer, open-loop rates
	@nice -n 10 stack/install.sh mlserver
	@$(LFD) stack up mlflow
	@$(PY) bench/bench_scoring.py $(ARGS)

bench-streaming: setup ## Flink job throughput and event-to-score latency at fixed input rates
	@$(LFD) stack up kafka flink mlflow
	@$(PY) bench/streaming.py $(ARGS)

bench-rollout: setup ## failed requests through a blue-green switch vs a RollingUpdate, real pods on the local node
	@$(LFD) stack up node
	@$(PY) bench/rollout.py $(ARGS)
