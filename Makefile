# Bifrost: the two commands a new user runs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# Test files run on this many workers (one file stays on one worker, so a module's
# stack starts once); most tests wait on daemons and subprocesses, not the CPU.
TEST_WORKERS ?= 2

.PHONY: demo test lint bench fuzz down clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/bifrost demo

test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# Style, types and the layering contracts of pyproject.toml ([tool.importlinter]).
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(DEV_STAMP)
	for b in bus startup fuzz_rpc ingest backtest workers journal order_loop tui crash_recovery micro_book; do \
		$(BIN)/python bench/$$b.py || exit 1; done

fuzz: $(STAMP)
	$(BIN)/python bench/fuzz_rpc.py --all --both

down:
	$(BIN)/bifrost down

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis
