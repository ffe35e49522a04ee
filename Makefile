# The two commands of the README: `make serve` and `make test`. Each sets itself up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: serve test system-deps bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

## Set up and start the service on http://127.0.0.1:8080 with the demo data (embedded SQLite
## unless XMLCURL_DATABASE_URL names a MySQL database; the demo is loaded only into an empty one).
serve: $(STAMP)
	$(BIN)/xmlcurl serve --demo --host $${HOST:-127.0.0.1} --port $${PORT:-8080}

## Set up and run the whole test suite (MariaDB tests skip without a server, except under CI=true).
test: $(STAMP) system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Debian packages the tests drive (headless Chromium for the admin pages, Kamailio for the dispatcher).
system-deps:
	@bash scripts/system-deps.sh

## The benchmark (README, Performance): wrk drives gunicorn on this machine.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || bash scripts/system-deps.sh wrk
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
