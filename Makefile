# Two commands do all the set-up: `make run` and `make test`. Each creates the virtual environment it needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## run the daemon on its embedded default: SQLite in ./var, SMTP on 127.0.0.1:2525, mail into ./var/outbox
run: $(STAMP)
	$(BIN)/gateway run

## run every check: lint, types, and the whole test suite (SQLite and the PostgreSQL on 127.0.0.1:5432)
test: $(STAMP)
	$(BIN)/ruff check gateway tests bench
	$(BIN)/ruff format --check gateway tests bench
	$(BIN)/mypy
	$(BIN)/pytest

## the benchmark set of bench/RESULTS.md (SMTP saturation and steady rate, worker cost, conversation mix,
## routing); `bench/run_all.sh` adds the 100,000-message memory run
bench: $(STAMP)
	$(BIN)/pip install -q 'py-spy>=0.3'  # the [bench] extra: profiles with --profile
	sh bench/run_all.sh --quick
	$(BIN)/python bench/intake_cost.py
	$(BIN)/python bench/conversation_mix.py
	$(BIN)/python bench/bench_rules.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
