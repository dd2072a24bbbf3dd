# The two commands of the README: `make demo` and `make test`. Both set up .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch==2.13.0 first: on these machines it is a local CPU build; an unpinned torch pulls a CUDA build.
TORCH ?= torch==2.13.0
EXTRAS ?= hf,embed,train,ui,ray,dev

.PHONY: venv demo test test-all bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-core: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-all: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	touch $@

venv: $(VENV)/.installed-all

demo: $(VENV)/.installed-core
	$(BIN)/distillate demo

test: $(VENV)/.installed-all
	$(BIN)/python -m pytest -q

test-all: $(VENV)/.installed-all
	$(BIN)/python -m pytest -q -m "not gpu"

clean:
	rm -rf $(VENV) demo-workspace demo-build .pytest_cache
