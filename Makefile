# The two commands a newcomer types: `make run` and `make test`. Each bootstraps everything it
# needs (uv, .venv, the locked environment, the project) on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CODE := pipeline assets tests bench
# uv if it runs from PATH, else the one pip installs as a module. Python is the version in
# .python-version (3.12): uv finds it, or downloads it where it may.
UV = $(shell uv --version >/dev/null 2>&1 && echo uv || echo "$(PYTHON) -m uv")
# The demo's key for keyed hashing, written into .env on first setup. Public, so tokens are not
# secret: set your own for real data (in .env, or in the environment, which wins).
DEV_HMAC_KEY := dev-only-insecure-hmac-key-do-not-use-in-production

.DEFAULT_GOAL := help
.PHONY: help setup run test browser ui mlflow lock lint format clean

help: ## show the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# --compile-bytecode: the .pyc files are written once, here. Without them every Python process
# (each `govern`, test session, Dagster run worker, Celery worker) compiles Dagster, MLflow, GX,
# spaCy and Presidio from source again where PYTHONDONTWRITEBYTECODE is set, as on our CI
# machine: importing that stack took 40 s of CPU without them, 21 s with them.
$(STAMP): requirements.lock pyproject.toml
	@uv --version >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet uv
	@test -x $(PY) || $(UV) venv --quiet --python 3.12 $(VENV)
	$(UV) pip install --quiet --python $(PY) --require-hashes --compile-bytecode -r requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)

# Read by `govern` and `dagster dev` alike; never overwritten, git-ignored.
.env:
	@printf '%s\n' \
		"# Read by govern and dagster dev; a variable set in the environment wins. Not committed." \
		"# The public development key: HMAC tokens are not secret. Set your own for real data." \
		"GOVERN_HMAC_KEY=$(DEV_HMAC_KEY)" > $@
	@echo "wrote .env with the public development key (set your own for real data)"

setup: $(STAMP) | .env ## create .venv with the locked environment and the project, and .env

run: $(STAMP) | .env ## run the whole pipeline on the sample data (prints the registered model)
	$(VENV)/bin/govern run

# Two pytest workers (pytest-xdist), each given whole test files (--dist loadfile: a file's
# module fixtures and ordered tests stay in one process), in the order collected: the end-to-end
# files first, the many short unit files last, to even out the two workers' ends. xdist's
# default hands out the files with the most tests first, which left one-test end-to-end files
# of a minute each to the end, one worker idle meanwhile. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
test: lint browser ## lint, then the test suite (real Dagster, Presidio, GX, DuckDB, Delta, MLflow runs)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The browser tests drive the Dagster UI in the system's Chromium (Debian's package; Playwright's
# own browser downloads are not used). Installed here when missing and we are root; otherwise
# those tests skip and say how to install it (and fail where GOVERN_REQUIRE_SERVICES=1).
CHROMIUM := /usr/bin/chromium
browser: ## install Chromium for the UI tests if missing (as root, with apt-get)
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the UI tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else \
		echo "no $(CHROMIUM): the UI tests will skip; install it with" \
			"'sudo apt-get install --no-install-recommends chromium'"; \
	fi

ui: $(STAMP) | .env ## serve the Dagster UI on http://127.0.0.1:3000
	$(VENV)/bin/govern ui

# The store the pipeline writes to: MLFLOW_TRACKING_URI, else the SQLite file under GOVERN_HOME.
# MLflow 3 opens in its GenAI view, whose sidebar has no model registry; the URL's
# `workflowType=machine_learning` selects the classic ML view, on the Models page.
MLFLOW_MODELS_URL := http://127.0.0.1:5000/\#/models?workflowType=machine_learning
mlflow: $(STAMP) ## serve the MLflow UI for the pipeline's store on http://127.0.0.1:5000
	@echo "the model registry: $(MLFLOW_MODELS_URL)"
	$(VENV)/bin/mlflow ui --host 127.0.0.1 --port 5000 --backend-store-uri \
		"$$($(PY) -c 'from pipeline import settings; print(settings.mlflow_tracking_uri())')"

lint: $(STAMP) ## formatting, lint (incl. a complexity limit) and the layer contracts
	$(PY) -m ruff format --check $(CODE)
	$(PY) -m ruff check $(CODE)
	$(VENV)/bin/lint-imports

format: $(STAMP) ## format the code and sort its imports
	$(PY) -m ruff format $(CODE)
	$(PY) -m ruff check --select I --fix $(CODE)

lock: ## refresh requirements.lock from pyproject.toml (versions and hashes, no hosts)
	@uv --version >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet uv
	$(UV) pip compile --quiet --generate-hashes --python-version 3.12 --extra dev \
		pyproject.toml -o requirements.lock

clean: ## delete run-time state (.govern/: Delta tables, Dagster, MLflow, reports)
	rm -rf .govern
