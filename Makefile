# socklab: the two commands of the quick start are `make lab-up` and `make test`.
LAB ?= udp-echo
PYTHON ?= python3
PYTEST_ARGS ?=
STAMP := .make/installed

.PHONY: setup images lab-up lab-down test unit benchmarks clean

# Installs socklab and what the offline image build needs (debootstrap).
setup: $(STAMP)
$(STAMP): pyproject.toml
	@command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
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

clean:
	socklab down --all
