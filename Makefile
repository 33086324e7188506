# The two commands in the README: `make run` and `make test`. Each creates or refreshes .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-stamp

.PHONY: run test chaos lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Without Slack credentials: the sandbox on a seeded demo workspace (cxloop-demo.db, seeded once).
run: $(STAMP)
ifeq ($(SLACK_BOT_TOKEN),)
	$(BIN)/cxloop demo
else
	$(BIN)/cxloop db upgrade
	$(BIN)/cxloop serve
endif

test: $(STAMP)
	$(BIN)/python -m pytest

# Fault tests: real cxloop processes, fake Slack failing, worker killed, a private Postgres restarted.
chaos: $(STAMP)
	$(BIN)/python -m pytest -m chaos -s -n 0

# Style, then the import contract of pyproject.toml [tool.importlinter] (dependencies point one way).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Every benchmark of issue 7; writes bench/results/latest.json. Postgres rows need CXLOOP_BENCH_DATABASE_URL.
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
