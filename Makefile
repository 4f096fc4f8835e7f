# The two commands of the README: `make test` and `make demo`. Both run the set-up first,
# which installs every Debian and Python package they need (idempotent, fast when done).
SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)

.PHONY: setup test lint format demo bench clean

setup:
	@bash scripts/setup.sh

lint: setup
	$(VENV)/bin/ruff check agent tests bench scripts
	$(VENV)/bin/ruff format --check agent tests bench scripts

format: setup
	$(VENV)/bin/ruff format agent tests bench scripts
	$(VENV)/bin/ruff check --fix agent tests bench scripts

test: lint
	$(PY) -m pytest -q tests

demo: setup
	$(PY) scripts/demo.py

bench: setup
	$(PY) bench/rpc_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
