# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.12 python3.13 /root/.pyenv/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.13*/bin/python3.13; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/creditsite
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint bench bench-reads jobs chaos clean

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "Python 3.12+ is required (Django 6 needs it); none found." >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Local runs have DEBUG on: readable logs, a local signing key, no login throttle or second factor.
run: export DEBUG = 1
run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py ensure_admin_user
	bash scripts/serve.sh $(HOST) $(PORT)

test: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) -m pytest $(PYTEST_ARGS)

# Fault suite: its own PostgreSQL, Redis, gunicorn and worker on loopback; kills and restarts them under load.
CHAOS_ARGS ?= --write-report
chaos: install
	$(PY) -m tests.chaos.run $(CHAOS_ARGS)

lint: install
	$(PY) -m ruff check .

jobs: install
	DEBUG=1 $(PY) manage.py run_jobs

# The write paths against their references first (bench/writes.py: gunicorn + wrk, django-hordak in
# var/hordak-venv), the nightly jobs at scale (a million due lots, 10,000 orgs' rate cards), then
# bench/run.py, which writes BENCHMARKS.md with every result file of bench/, then the read paths.
bench: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) bench/writes.py
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} LOG_LEVEL=WARNING $(PY) bench/expiry.py --accounts 200000 --lots 5
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} LOG_LEVEL=WARNING $(PY) bench/activation.py --orgs 10000
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) bench/run.py
	$(MAKE) bench-reads

# Read paths with millions of postings (bench/reads.py): its own database, seeded once and kept (--reuse).
READS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bench_reads
READS_ARGS ?= --postings 5000000 --reuse
bench-reads: install
	DATABASE_URL=$(READS_DATABASE_URL) LOG_LEVEL=WARNING $(PY) bench/reads.py $(READS_ARGS)

clean:
	rm -rf $(VENV) var/*.sqlite3
