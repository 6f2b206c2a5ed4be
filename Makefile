# The set-up contract: `make serve` and `make test` work on a fresh machine.
# The same targets run locally and in CI (.ci/run calls `make test`).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 1
PIP    := $(BIN)/pip --disable-pip-version-check -q

.PHONY: serve test lint format schema check-schema bench seed clean

# The stamp files re-run the install only when pyproject.toml changes.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	touch $@ $(VENV)/.installed

serve: $(VENV)/.installed
	$(BIN)/alawael serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

seed: $(VENV)/.installed
	$(BIN)/alawael seed

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check alawael tests bench
	$(BIN)/ruff format --check alawael tests bench
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix alawael tests bench
	$(BIN)/ruff format alawael tests bench

schema: $(VENV)/.installed
	$(BIN)/alawael export-schema --output schema.graphql

# Fails when the committed schema.graphql differs from what the code exports.
check-schema: $(VENV)/.installed
	$(BIN)/alawael export-schema --check schema.graphql

test: lint check-schema
	$(BIN)/pytest -q

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
