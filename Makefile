# cadrebot: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Every package, test tools and build backend included, pinned with its hashes; `make lock` writes it.
LOCK   := requirements.lock
# pip-compile lives in a venv of its own, so the project's venv holds exactly what the lock lists.
LOCK_VENV := $(VENV)/lock-tools
PIP_TOOLS := pip-tools>=7.5,<8
# Test processes (pytest-xdist): one more than the cores. Many long tests wait more than they compute (real bot
# processes paced at Telegram's 1 message a second per chat, retry back-offs), so a third process fills the waits. On
# 2 cores (a shared machine: the same run varies by ±25 %), measured on 2026-12-03 on one machine: 241 s with 2
# processes, 168 s with 3, 226 s with 4 (each collects the suite for ~8 s and builds its session fixtures).
# PYTEST_WORKERS=0 runs it in this process.
# Work stealing: an idle worker takes queued tests from a busy one, so a few long tests (commands run as real
# processes, model training) do not leave one worker running alone at the end.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
PYTEST_FLAGS   ?= -q -n $(PYTEST_WORKERS) --dist worksteal --durations=25

.PHONY: run test lint lock lock-upgrade setup fonts test-deps e2e-deps pdf-tools bench clean

# Reinstalled whenever the lock or pyproject.toml changes. `pip check` catches a lock that no longer satisfies
# pyproject.toml (a dependency added or re-bounded without `make lock`).
$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@$(BIN)/python -m pip check || { echo "$(LOCK) does not match pyproject.toml: run \`make lock\`" >&2; exit 1; }
	touch $(STAMP)

## lock: re-resolve requirements.lock from pyproject.toml, keeping every pin that still fits (new ones are added)
lock: $(LOCK_VENV)/.installed
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	  --extra test --all-build-deps --strip-extras --no-emit-index-url --no-emit-find-links \
	  $(LOCK_FLAGS) --output-file $(LOCK) pyproject.toml

## lock-upgrade: the same, moving every package to its newest release within pyproject.toml's bounds
lock-upgrade:
	$(MAKE) lock LOCK_FLAGS=--upgrade

$(LOCK_VENV)/.installed:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q '$(PIP_TOOLS)'
	touch $@

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

## pdf-tools: pdftotext (Debian/Ubuntu: poppler-utils), with which the tests read the evaluation dossier's PDF back
pdf-tools:
	@command -v pdftotext >/dev/null || { \
	  command -v apt-get >/dev/null || { echo "install poppler-utils (pdftotext) for the tests" >&2; exit 1; }; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends poppler-utils; }

test-deps: $(STAMP) e2e-deps pdf-tools

## lint: ruff (rules in pyproject.toml) over the tree, mypy over the typed packages; any finding fails
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## test: the linters, everything `setup` does, what the tests need, then the whole suite on every core
test: lint setup test-deps
	$(BIN)/python -m pytest $(PYTEST_FLAGS)

bench: setup
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/bot_load.py
	$(BIN)/python bench/digest_scale.py

clean:
	rm -rf $(VENV) data .pytest_cache tests/e2e/node_modules
