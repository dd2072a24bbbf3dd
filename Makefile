# The two commands of the README: `make demo` and `make test`. Both set up .venv on a fresh machine.
# `make test` runs the default suite; with CI=true (.ci/run) it runs the slow tests too, in strict mode
# (tests/conftest.py: a skip for a missing module, extra, browser or data set is a failure).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch==2.13.0 first: on these machines it is a local CPU build; an unpinned torch pulls a CUDA build.
TORCH ?= torch==2.13.0
EXTRAS ?= hf,embed,train,ui,ray,dev

.PHONY: venv demo test test-all bench bench-full bench-table clean

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

CI_MARKS := $(if $(filter true 1 yes,$(CI)),-m "not gpu",)

test: $(VENV)/.installed-all
	$(BIN)/python -m pytest -q $(CI_MARKS)

test-all: $(VENV)/.installed-all
	$(BIN)/python -m pytest -q -m "not gpu"

# Benchmarks: each script writes bench/results/NAME.json (bench/results.py); bench/table.py turns the files
# into the README's Performance table. `make bench`: sizes that fit a session (a few minutes each on 2
# cores); `make bench-full`: the sizes the README used to quote (100k traces). BENCH_NOTE="..." is
# recorded in every result file's notes (e.g. that the machine was shared).
B := $(BIN)/python bench

bench: $(VENV)/.installed-all
	$(B)/verify_bench.py --quick
	$(B)/verify_bench.py --agreement
	$(B)/dedup_bench.py --n 5000
	$(B)/decontam_bench.py --quick
	$(B)/signals_bench.py --n 5000
	$(B)/ui_bench.py --quick
	$(B)/e2e_bench.py --n 5000 --engines local,ray
	$(B)/build_bench.py --quick
	$(B)/generate_bench.py --quick
	$(B)/train_eval_bench.py --quick
	$(B)/table.py

bench-full: $(VENV)/.installed-all
	$(B)/verify_bench.py
	$(B)/verify_bench.py --agreement
	$(B)/dedup_bench.py --n 100000
	$(B)/decontam_bench.py
	$(B)/signals_bench.py --n 100000
	$(B)/ui_bench.py --n 200000
	$(B)/e2e_bench.py --n 100000 --engines local,ray
	$(B)/build_bench.py --n 100000
	$(B)/generate_bench.py
	$(B)/train_eval_bench.py
	$(B)/table.py

bench-table:
	$(B)/table.py

clean:
	rm -rf $(VENV) demo-workspace demo-build .pytest_cache
