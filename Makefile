# socklab: the two commands of the quick start are `make lab-up` and `make test`.
LAB ?= udp-echo
PYTHON ?= python3
PYTEST_ARGS ?=
STAMP := .make/installed

.PHONY: setup images lab-up lab-down test unit benchmarks generated clean

# Debian packages socklab uses on the host: debootstrap builds the base
# image offline, tshark reads captures, graphviz draws topologies.
HOST_PACKAGES := debootstrap tshark graphviz
HOST_TOOLS := debootstrap tshark dot

# Installs socklab and the host tools (apt-get when one is missing).
setup: $(STAMP)
$(STAMP): pyproject.toml
	@for tool in $(HOST_TOOLS); do command -v $$tool >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(HOST_PACKAGES); \
	fi
	$(PYTHON) -m pip install -q -e '.[dev]'
	@mkdir -p .make && touch $@

images: setup
	socklab images

lab-up: images
	socklab up $(LAB)

lab-down: setup
	socklab down $(LAB)

test: images
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

unit: setup
	$(PYTHON) -m pytest -q tests/unit

benchmarks: images
	$(PYTHON) benchmarks/lab_up.py
	$(PYTHON) benchmarks/link_fidelity.py

# Compose files and diagrams are generated from the labs; tests fail when stale.
generated: setup
	$(PYTHON) -m socklab.compose
	$(PYTHON) -m socklab.graph

clean:
	socklab down --all
