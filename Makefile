# curate: `make demo` and `make test` do all the set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= manifests/demo
DEMO_ARGS ?=
ARGS ?=

.PHONY: install demo test bench bench-quick slurm-up slurm-down clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

demo: install
	$(BIN)/curate demo --out $(DEMO_OUT) $(DEMO_ARGS)

test: install
	$(BIN)/python -m pytest -q

# `make bench ARGS=--quick` passes options through (make itself rejects `make bench --quick`)
bench: install
	$(BIN)/python bench/run_all.py $(ARGS)

bench-quick: install
	$(BIN)/python bench/run_all.py --quick $(ARGS)

slurm-up:
	bash scripts/slurm/up.sh

slurm-down:
	bash scripts/slurm/down.sh

clean:
	rm -rf $(VENV) manifests/demo .pytest_cache
