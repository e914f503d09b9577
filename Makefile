# streamscore: the one front door. Every target installs what it needs first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
SS := $(VENV)/bin/streamscore
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install system-deps lint format test faults soak test-unit screenshots demo bench bench-parts kafka-up kafka-down clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install streamscore with its dev tools
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

lint: install ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install ## ruff format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

system-deps: ## Debian packages the tests use (chromium, tmux, kcat): installed when root
	bash scripts/install-system-deps

test: install system-deps ## The whole suite against a real Kafka broker (started by the tests)
	$(PY) -m pytest $(PYTEST_ARGS)

faults: install ## The fault harness: kill workers and the broker, count what was lost (a table)
	$(PY) -m pytest -m faults $(PYTEST_ARGS) tests/faults

soak: install ## Twenty minutes at 1,000 events/s: RSS, lag and latency every 10 s (SOAK_MINUTES=N)
	$(PY) -m pytest -m soak -s $(PYTEST_ARGS) tests/faults/test_soak.py

test-unit: install ## Only the tests that need no broker
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

screenshots: install system-deps ## docs/monitor.png and docs/report.png, from the tests that take them
	SCREENSHOT_DIR=docs $(PY) -m pytest -q $(PYTEST_ARGS) \
		tests/cli/test_monitor_terminal.py::test_the_dashboard_shows_alerts_version_rates_and_ctrl_c_leaves_a_clean_terminal \
		tests/cli/test_report_browser.py::test_the_report_renders_every_plot_offline_without_errors

demo: install ## Start the local broker and run the main job end to end
	$(SS) kafka up
	$(SS) demo

bench: install ## Throughput, CPU per event and latency against raw Kafka, the limit, naive
	$(SS) kafka up
	$(SS) bench --json bench.json

bench-parts: install ## The cost of each stage of the hot path and of the learner (no Kafka)
	$(PY) -m streamscore.cli.bench_parts

kafka-up: install ## Start (or reuse) the local broker
	$(SS) kafka up

kafka-down: install ## Stop the local broker
	$(SS) kafka down

clean: ## Remove the virtual environment and local outputs (not the broker's cache)
	rm -rf $(VENV) .pytest_cache .ruff_cache demo-data streamscore-data
