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
	$(VENV)/bin/ruff check agent tests bench scripts plugins
	$(VENV)/bin/ruff format --check agent tests bench scripts plugins
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format agent tests bench scripts plugins
	$(VENV)/bin/ruff check --fix agent tests bench scripts plugins

test: lint
	$(PY) -m pytest -q tests

demo: setup
	$(PY) scripts/fleet_demo.py

bench: setup
	$(PY) bench/rpc_latency.py
	$(PY) bench/nnf_start.py
	$(PY) bench/dataplane.py
	$(PY) bench/node_probe.py
	$(PY) bench/fleet_push.py
	$(PY) bench/commit_scale.py
	$(PY) bench/read_during_commit.py
	$(PY) bench/timings.py
	$(PY) bench/callhome.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
