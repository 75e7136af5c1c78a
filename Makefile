# cadrebot: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup fonts test-deps e2e-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

## fonts: a CJK font for the digest chart (Debian/Ubuntu: fonts-wqy-microhei, 1.6 MB); skipped when one is found
fonts: $(STAMP)
	@$(BIN)/python -c "from bot.digest.fonts import find_cjk_font; find_cjk_font()" 2>/dev/null || { \
	  command -v apt-get >/dev/null || { echo "install a CJK font (e.g. fonts-wqy-microhei) for the digest chart" >&2; exit 1; }; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-wqy-microhei; }

## setup: virtual environment, CJK font, knowledge-base check, database migrations, demo town
setup: $(STAMP) fonts
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
	$(BIN)/python bench/bot_load.py
	$(BIN)/python bench/digest_scale.py

clean:
	rm -rf $(VENV) data .pytest_cache tests/e2e/node_modules
