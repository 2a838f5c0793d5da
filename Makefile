# WindFlow Desktop — one command to run the app, one to test it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BENCH  ?=

.PHONY: run serve test lint bench services dist dist-check screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,server]'
	@touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/windflow-desktop

# The WindFlow server over the workspace in WINDFLOW_HOME (create its owner first:
# .venv/bin/windflow create-owner NAME --org ORG).
serve: $(VENV)/.test-deps
	$(BIN)/windflow serve

services:
	@bash tests/env/ensure_services.sh

lint: $(VENV)/.test-deps
	$(BIN)/ruff check windflow_desktop tests
	$(BIN)/mypy

# The suite runs in one worker process (-n 1): a test that crashes the interpreter (a
# segfault in Qt, seen once in CI) is reported and run once more in a fresh worker, and
# the rest of the run goes on. Only crashes are run again: --only-rerun matches no
# failure message, so a failing test fails at once.
test: $(VENV)/.test-deps services lint
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(BIN)/python -m pytest -n 1 --durations=25 \
	  --reruns 1 --only-rerun '^only a crash of the worker is run again$$'

bench: $(VENV)/.test-deps services
	@QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(BIN)/python -m tests.benchmarks $(BENCH)

$(VENV)/.dist-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dist]'
	@touch $@

# A one-folder PyInstaller bundle in dist/windflow-desktop/, plus a Linux .desktop entry.
dist: $(VENV)/.dist-deps
	$(BIN)/pyinstaller --noconfirm --log-level WARN windflow.spec
	cp resources/windflow-desktop.desktop dist/
	cp resources/icons/windflow.svg dist/windflow-desktop.svg

# The bundle starts: --version, then --smoke on a fresh workspace and again on the same one.
dist-check: dist
	dist/windflow-desktop/windflow-desktop --version
	home=$$(mktemp -d) && for run in 1 2; do \
	  WINDFLOW_HOME=$$home QT_QPA_PLATFORM=offscreen dist/windflow-desktop/windflow-desktop --smoke || exit 1; \
	done

# Every page of the real app with realistic data, as PNG files for the README.
screenshots: $(VENV)/.test-deps services
	xvfb-run -a -s '-screen 0 1280x800x24' $(BIN)/python -m tests.screenshots resources/screenshots

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
