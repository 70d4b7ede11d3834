# Marginalia: `make run` serves the site, `make test` runs the whole suite. Both set up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(RUN_STAMP)

# Development mode (DEBUG=1): embedded PostgreSQL under var/ unless DATABASE_URL is set.
run: $(RUN_STAMP)
	DEBUG=1 $(BIN)/python manage.py serve

# Format check, lint, the architecture's contracts, then every test (browser tests included)
# against real PostgreSQL.
test: $(TEST_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	DEBUG=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

format: $(TEST_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The performance benchmarks (see README): scripts, not tests. DEBUG off, as in production:
# the harness sets the environment they need (tests/bench/harness.py, BENCH_ENV).
bench: $(TEST_STAMP)
	$(BIN)/python tests/bench/run_all.py

clean:
	rm -rf $(VENV) var/staticfiles .pytest_cache .ruff_cache
