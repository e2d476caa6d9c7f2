# Two commands do all the set-up: `make run` and `make test`. Each creates the virtual environment it needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-dates bench clean

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
	$(BIN)/lint-imports  # the layers of docs/architecture.md (contracts in pyproject.toml)
	$(BIN)/pytest -n 2  # two workers (pytest-xdist): most tests wait on daemons, not on the CPU (10:24 -> 6:44)

## the suite again with the system date moved (issue 15: no test may depend on today's date): a Sunday
## night, a Finnish public holiday, a year ahead. libfaketime stalls timed waits of Python's threads, so
## the IMAP reader's tests are left out (docs/decisions/0018a-suite-clock-and-faketime.md)
test-dates: $(STAMP)
	for when in '2026-12-06 23:30:00' '2026-12-24 10:00:00' '2027-12-02 10:00:00'; do \
	  echo "the suite at $$when"; \
	  faketime "$$when" $(BIN)/pytest -q -p no:cacheprovider --ignore=tests/channels/test_imap.py || exit 1; \
	done

## the benchmark set of bench/RESULTS.md (SMTP saturation and steady rate, worker cost, conversation mix,
## routing); `bench/run_all.sh` adds the 100,000-message memory run
## `bench/web_throughput.py --all`: the web front (issue 17; webhook/Open311 against SMTP, reads, ~1 h)
bench: $(STAMP)
	$(BIN)/pip install -q 'py-spy>=0.3'  # the [bench] extra: profiles with --profile
	sh bench/run_all.sh --quick
	$(BIN)/python bench/intake_cost.py
	$(BIN)/python bench/conversation_mix.py
	$(BIN)/python bench/bench_rules.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
