# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv, installs caloquant with locked dependencies, runs `caloquant demo`
#   make test   creates .venv (and .venv-peers, the paper's TFLite/INC peers), runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PEERS := .venv-peers
PEERS_STAMP := $(PEERS)/.installed

.PHONY: demo test lint setup peers clean

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# TensorFlow's pins clash with ours (h5py), so the peers live in their own environment; caloquant reaches
# them through a worker process (src/caloquant/peers)
$(PEERS_STAMP): requirements/peers.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet --upgrade pip
	$(PEERS)/bin/pip install --quiet -r requirements/peers.txt
	touch $(PEERS_STAMP)

peers: $(PEERS_STAMP)

demo: $(STAMP)
	$(BIN)/caloquant demo -o demo-out

test: lint peers
	$(BIN)/python -m pytest -q -n 2  # two workers: the two cores CI has

# ruff; the layering contract of docs/architecture.md (import-linter); types on src/ (mypy)
lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(PEERS) demo-out .pytest_cache
