# live-fraud-detector: thin wrappers over stack/install.sh and the `lfd` CLI.
# `make help` lists the targets. Everything installs itself: `make demo` and `make test` work on a
# fresh machine (first run builds the Kubernetes control plane from source: allow ~15-25 minutes).

SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
LFD := $(VENV)/bin/lfd
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: help setup demo test test-unit lint up down status bench

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

demo: up ## bring the stack up and show each part alive
	@$(PY) -m lfd.demo

test: setup ## install everything and run every test tier (unit, integration, e2e) against the real stack
	@$(VENV)/bin/pytest $(PYTEST_ARGS)

test-unit: ## only the unit tier (no components)
	@$(VENV)/bin/pytest -m unit $(PYTEST_ARGS)

lint: ## ruff and mypy
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy pipelines/lfd services/scoring operator/fraud_operator

bench: setup ## every benchmark (results in bench/results, summary in BENCHMARKS.md)
	@echo "benchmarks are added by their issues: see BENCHMARKS.md"
