# WindFlow Desktop — one command to run the app, one to test it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BENCH  ?=

.PHONY: run test lint bench services dist screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	@touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/windflow-desktop

services:
	@bash tests/env/ensure_services.sh

lint: $(VENV)/.test-deps
	$(BIN)/ruff check windflow_desktop tests
	$(BIN)/mypy

test: $(VENV)/.test-deps services lint
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(BIN)/python -m pytest

bench: $(VENV)/.test-deps services
	@QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(BIN)/python -m tests.benchmarks $(BENCH)

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
