# cadrebot: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup test-deps e2e-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

## setup: virtual environment, knowledge-base check, database migrations, demo town
setup: $(STAMP)
	$(BIN)/cadrebot kb validate
	$(BIN)/cadrebot db upgrade
	$(BIN)/cadrebot admin seed-demo

## run: the Telegram bot when TELEGRAM_BOT_TOKEN is set, else the local console chat
run: setup
	$(BIN)/cadrebot run

## e2e-deps: the Telegram Bot API emulator used by the end-to-end tests (pinned in tests/e2e/package.json)
e2e-deps:
	cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error

test-deps: $(STAMP) e2e-deps

## test: everything `setup` does, plus what the tests need, then the whole suite
test: setup test-deps
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/speed.py

clean:
	rm -rf $(VENV) data .pytest_cache tests/e2e/node_modules
