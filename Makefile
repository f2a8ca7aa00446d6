# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv, installs caloquant with locked dependencies, runs `caloquant demo`
#   make test   creates .venv, installs caloquant with locked dependencies, runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup clean

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/caloquant demo -o demo-out

test: lint
	$(BIN)/python -m pytest -q -n 2  # two workers: the two cores CI has

# ruff; the layering contract of docs/architecture.md (import-linter); types on src/ (mypy)
lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) demo-out .pytest_cache
