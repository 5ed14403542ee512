# Two entry points for a fresh machine: `make backtest` and `make test`.
# Each bootstraps .venv on first use; a second run with nothing changed installs nothing.

PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
OUT     ?= reports/latest

.PHONY: venv test lint typecheck unit backtest bench bench-deps clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[sim,dev]'
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict config greeks risk strategies execution system
	$(BIN)/mypy --strict --allow-subclassing-any --allow-untyped-calls main.py lean_bridge

unit: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck unit

backtest: $(STAMP)
	$(BIN)/python -m sim --scenario normal --start 2022-01-03 --end 2023-12-29 \
		--cash 100000 --seed 1 --out $(OUT)

# Bench-only references (QuantLib, py_vollib_vectorized) go into .venv through the `bench` extra;
# py_vollib_vectorized 0.1.1 runs only with py_lets_be_rational 1.0.1, which must come last.
BENCH_STAMP := $(VENV)/.bench-installed

bench-deps: $(BENCH_STAMP)

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
		py_lets_be_rational==1.0.1
	@touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) reports .mypy_cache .ruff_cache .pytest_cache .hypothesis
