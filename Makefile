# Two commands a new user needs: `make demo` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
export AIRFLOW_HOME := $(CURDIR)/.airflow

.PHONY: demo test bench install system-packages node-packages clean

install: $(STAMP)

# Reinstall only when the pins change. uv resolves against the committed constraints, so
# every machine gets the same versions.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --python $(BIN)/python --quiet -c constraints.txt -e ".[dev,deployment]"
	touch $(STAMP)

demo: install
	$(BIN)/csp demo

# Chromium and poppler-utils for the report form tests (apt-get, only when missing).
system-packages:
	bash scripts/system-packages.sh

# axe-core (the accessibility rules the report tests inject into Chromium), pinned by
# package-lock.json; reinstalled only when the lock changes.
NODE_STAMP := node_modules/.installed
node-packages: $(NODE_STAMP)
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $(NODE_STAMP)

test: install system-packages node-packages
	$(BIN)/python -m pytest

# Stage timings, peak memory and the baseline ratios (issue 9); results in docs/benchmarks.md.
BENCH_SCALES ?= 100k,1m,5m/20q
bench: install
	$(BIN)/python -m csp.bench --scales $(BENCH_SCALES) --markdown docs/benchmarks.md
	$(BIN)/python -m csp.bench.refusals --markdown docs/benchmarks.md

clean:
	rm -rf data out .airflow
