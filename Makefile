# The two commands of the README: `make serve` and `make test`. Each sets itself up on a fresh
# machine (python3 and make): a virtualenv in .venv with what that command needs, no more.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
# One stamp per set of packages: serving needs the service's own dependencies only.
SERVE_STAMP = $(VENV)/.installed-serve
STAMP       = $(VENV)/.installed
BENCH_STAMP = $(VENV)/.installed-bench

.PHONY: serve dev test system-deps bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(SERVE_STAMP): setup.cfg pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

# The tests also exercise the benchmark's own code (bench extra).
$(STAMP): setup.cfg pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

$(BENCH_STAMP): setup.cfg pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

## Start the service as it is deployed (gunicorn with gunicorn.conf.py) on http://$(HOST):$(PORT),
## with the demo data in the embedded SQLite database (unless XMLCURL_DATABASE_URL names another;
## the demo is loaded only into an empty one). It prints where the admin is and the demo login.
serve: $(SERVE_STAMP)
	$(BIN)/xmlcurl serve --demo --host $(HOST) --port $(PORT)

## The same data under werkzeug's development server (one process; for development only).
dev: $(SERVE_STAMP)
	$(BIN)/xmlcurl dev-server --demo --host $(HOST) --port $(PORT)

## Set up and run the whole test suite (MariaDB tests skip without a server, except under CI=true).
test: $(STAMP) system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Debian packages the tests drive (headless Chromium for the admin pages, Kamailio for the dispatcher, wrk for the benchmark's load script).
system-deps:
	@bash scripts/system-deps.sh

## The benchmark (docs/performance.md): wrk drives gunicorn on this machine.
## `make bench BENCH_ARGS=--help` prints its options without installing anything.
ifneq ($(filter -h --help,$(BENCH_ARGS)),)
bench:
	@$(PYTHON) -m bench $(BENCH_ARGS)
else
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null 2>&1 || bash scripts/system-deps.sh wrk
	$(BIN)/python -m bench $(BENCH_ARGS)
endif

clean:
	rm -rf $(VENV) instance .pytest_cache
