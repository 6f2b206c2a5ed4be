# The set-up contract: `make serve` and `make test` work on a fresh machine, and both install
# exactly the committed lock (uv.lock): a new upstream release cannot break a clone.
# The same targets run locally and in CI (.ci/run calls `make test`).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 1

# uv itself lives in its own small venv (pinned with hashes in tools/uv.txt): `uv sync` makes
# .venv hold exactly the lock, so uv would remove itself if it lived there.
UV_HOME := .uv
UV      := $(UV_HOME)/bin/uv
# Use this machine's interpreter, never a downloaded one; .venv is the project environment.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
UV_SYNC := $(UV) sync --locked --python $(PYTHON) --quiet

.PHONY: serve test lint format schema check-schema lock lock-check upgrade bench seed clean promtool

$(UV): tools/uv.txt
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --disable-pip-version-check -q --require-hashes --no-deps -r tools/uv.txt
	touch $@

# Fails in one line when pyproject.toml changed and uv.lock was not re-made. Runs offline:
# it compares the two files, it does not resolve.
lock-check: $(UV)
	@$(UV) lock --check --offline --python $(PYTHON) --quiet 2>/dev/null || { \
	  echo "uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock" >&2; exit 1; }

# Installs exactly uv.lock (hashes checked, nothing resolved). The stamps re-run it only when
# the lock changes. --inexact keeps the dev tools when `make serve` follows `make test`.
$(VENV)/.installed: uv.lock pyproject.toml | lock-check
	$(UV_SYNC) --inexact
	touch $@

$(VENV)/.installed-dev: uv.lock pyproject.toml | lock-check
	$(UV_SYNC) --extra dev
	touch $@ $(VENV)/.installed

# Re-resolve the lock within pyproject.toml's ranges: after changing a dependency (`make lock`
# keeps every other pin), or to take upstream releases on purpose (`make upgrade`).
lock: $(UV)
	$(UV) lock --python $(PYTHON)

upgrade: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

serve: $(VENV)/.installed
	$(BIN)/alawael serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

seed: $(VENV)/.installed
	$(BIN)/alawael seed

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check alawael tests bench
	$(BIN)/ruff format --check alawael tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix alawael tests bench
	$(BIN)/ruff format alawael tests bench

schema: $(VENV)/.installed
	$(BIN)/alawael export-schema --output schema.graphql

# Fails when the committed schema.graphql differs from what the code exports.
check-schema: $(VENV)/.installed
	$(BIN)/alawael export-schema --check schema.graphql

# The alert-rule tests run `promtool check rules`: locate it, or install Debian's package.
promtool:
	@tools/promtool.sh >/dev/null

test: lock-check lint check-schema promtool
	$(BIN)/pytest -q

# BENCH_ARGS="--soak --minutes 3": the soak scenario instead (10 minutes by default).
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(UV_HOME) var .pytest_cache .mypy_cache .ruff_cache
