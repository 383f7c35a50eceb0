# SynapScale. `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
PY := .venv/bin/python
PACKAGES := domain application adapters entrypoints

.PHONY: help uv install run api worker migrate test check lint types contracts pytest fmt bench bench-files bench-gateway clean

help:
	@echo "make run      API + worker (embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set)"
	@echo "make test     everything CI runs: lint, format, types, architecture contracts, all tests"
	@echo "make check    the same as test"
	@echo "make fmt      format and autofix"
	@echo "make api | worker | migrate    one piece at a time (URLs from the environment or .env)"
	@echo "make bench    throughput and latency against a running server"
	@echo "make bench-files  upload/download throughput vs a disk copy, API RSS during uploads"
	@echo "make bench-gateway  /v1/chat/completions overhead over a mock upstream, JSON and SSE"

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
	  || python3 -m pip install --quiet --disable-pip-version-check uv \
	  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages uv

install: uv
	@$(UV) sync --frozen --quiet

run: install
	@$(PY) -m entrypoints.cli run

api: install
	@$(PY) -m entrypoints.cli api

worker: install
	@$(PY) -m entrypoints.cli worker

migrate: install
	@$(PY) -m entrypoints.cli migrate

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

types: install
	.venv/bin/mypy

contracts: install
	.venv/bin/lint-imports

pytest: install
	$(PY) -m pytest

check: lint types contracts pytest

test: check

fmt: install
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench: install
	$(PY) -m bench.http_bench

bench-files: install
	$(PY) -m bench.files_bench

bench-gateway: install
	$(PY) -m bench.gateway_bench

clean:
	rm -rf .venv .mypy_cache .ruff_cache
