# socklab: the two commands of the quick start are `make lab-up` and `make test`.
# Everything installs into .venv of this checkout: no root, no system pip.
LAB ?= udp-echo
PYTHON ?= python3
PYTEST_ARGS ?=
MACHINES_ARGS ?=
VENV := .venv
BIN := $(VENV)/bin
SOCKLAB := $(BIN)/socklab
STAMP := $(VENV)/.installed

.PHONY: setup images lab-up lab-down test unit lint benchmarks generated machines clean

# socklab and its Python dependencies, in the checkout's virtual environment.
# Host tools (tshark, Graphviz, debootstrap) are optional: `socklab doctor` says
# what each one adds and how to get it.
setup: $(STAMP)
$(STAMP): pyproject.toml
	$(PYTHON) -m socklab.bootstrap $(VENV)
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

images: setup
	$(SOCKLAB) images

lab-up: images
	$(SOCKLAB) up $(LAB)

lab-down: setup
	$(SOCKLAB) down $(LAB)

test: images
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

unit: setup
	$(BIN)/python -m pytest -q tests/unit

# ruff (pyflakes, pycodestyle, import order, bugbear) on the tree; mypy on socklab,
# the benchmarks and the machines harness; both configured in pyproject.toml.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy socklab benchmarks tests/machines

benchmarks: images
	$(BIN)/python benchmarks/lab_up.py
	$(BIN)/python benchmarks/link_fidelity.py
	$(BIN)/python benchmarks/web_cpu.py

# Compose files and diagrams are generated from the labs; tests fail when stale.
generated: setup
	$(BIN)/python -m socklab.compose
	$(BIN)/python -m socklab.graph

# The smoke set on emulated stock machines (Debian 12 and 13: non-root user, distribution
# Python, cgroup v2, netem), images built offline in the guests: tests/machines/README.md.
# MACHINES_ARGS=--base-from-host hands the guests this host's base image instead (CI).
machines:
	tests/machines/host-tools.sh
	$(PYTHON) tests/machines/smoke.py $(MACHINES_ARGS)

clean:
	-$(SOCKLAB) down --all
