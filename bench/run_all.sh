#!/bin/sh
# The full SMTP intake benchmark: saturation (SQLite, PostgreSQL; 10 and 50 sessions), steady rate,
# memory over 100,000 messages, with the stdlib parse-only baseline before and after. Prints a table.
#   bench/run_all.sh            # everything (the 100k run takes N / throughput seconds)
#   bench/run_all.sh --quick    # without the 100k memory run
set -e
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/smtp_throughput.py --all --json-out /tmp/bench_runs/results.jsonl "$@"
