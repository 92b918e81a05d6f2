# The two commands a newcomer needs: `make run` and `make test`. Both create or update .venv
# first, from pyproject.toml pinned by constraints.txt, so a clean clone needs only Python and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_ARGS ?=

.PHONY: run test test-fast lint typecheck importlint pytest browser postgres bench format lock clean help

help:
	@echo "make run    - set up .venv if needed, run the default study on built-in synthetic data"
	@echo "make test   - set up .venv if needed, run lint, type checks, layer rules and the tests"
	@echo "make test-fast - the tests not marked slow, for day-to-day work (CI runs make test)"
	@echo "make bench  - time and measure memory of the data layer (real file when present)"
	@echo "make format - apply ruff formatting and safe fixes"
	@echo "make lock   - re-pin constraints.txt to the newest versions pyproject.toml allows"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ctdc-risk needs Python 3.11 or newer; found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/ctdc-risk $(RUN_ARGS)

test: lint typecheck importlint pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy

importlint: $(STAMP)
	$(BIN)/lint-imports

# The report's browser test needs Debian's chromium and the team-server test PostgreSQL; the
# script installs each when it can and otherwise only says which test will be skipped.
browser:
	bash scripts/ensure-apt.sh chromium /usr/bin/chromium "the report's browser test"

postgres:
	bash scripts/ensure-apt.sh postgresql "/usr/lib/postgresql/*/bin/initdb" "the team-server test"

# Two worker processes (one per core of a CI runner); each test file runs whole on one worker,
# so a module's fixtures are built once, and tests/conftest.py builds the session's shared study
# and sweeps once for both. PYTEST_WORKERS=0 runs everything in this process.
PYTEST_WORKERS ?= 2
PYTEST_ARGS = -n $(PYTEST_WORKERS) --dist loadfile

pytest: $(STAMP) browser postgres
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Day-to-day: everything but the tests marked slow (real sweeps, packaging, faults, long
# properties). Not a replacement for make test, which CI runs.
test-fast: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS) -m "not slow"

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

format: $(STAMP)
	$(BIN)/ruff check --fix src tests scripts
	$(BIN)/ruff format src tests scripts

# Re-resolve every pin: a fresh virtual environment installs the project and its dev tools
# without constraints (so pip picks the newest versions pyproject.toml allows, not what .venv
# happens to hold), and its freeze becomes constraints.txt. `make test` (CI) installs on these
# pins. The pins are for this machine's Python (3.11) on Linux.
lock:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip; \
	"$$tmp/venv/bin/python" -m pip install --quiet -e '.[dev]'; \
	"$$tmp/venv/bin/python" -m pip check; \
	"$$tmp/venv/bin/python" -m pip freeze --exclude-editable > "$$tmp/constraints.txt"; \
	mv "$$tmp/constraints.txt" constraints.txt; \
	echo "constraints.txt: $$(wc -l < constraints.txt) pins"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
