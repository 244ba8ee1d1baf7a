# jobhunter's own tasks. Every target installs what it needs, so a fresh clone runs
# `make demo` or `make test` with nothing set up by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# Every version the development environment installs, and the versions generated code pins.
CONSTRAINTS := jobhunter_compiler/constraints.txt
# Tools whose own pins conflict with the development environment's, in a venv of their own
# (tests/test_kubernetes_emitter.py runs checkov from it), and every version that venv holds.
TOOLS := checkov
TOOLS_VENV := .venv-tools
TOOLS_CONSTRAINTS := tests/tools-constraints.txt
TOOLS_STAMP := $(TOOLS_VENV)/.installed-tools
DEMO_DIR ?= demo

.PHONY: install tools bytecode system-deps test lint format demo bench relock clean

install: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade -c $(CONSTRAINTS) pip
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e '.[dev]'
	touch $@

tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): $(TOOLS_CONSTRAINTS)
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install -q --upgrade -c $(TOOLS_CONSTRAINTS) pip
	$(TOOLS_VENV)/bin/python -m pip install -q -c $(TOOLS_CONSTRAINTS) $(TOOLS)
	touch $@

# What a regular `pip install` does and an editable one does not: without it, a shell with
# PYTHONDONTWRITEBYTECODE=1 (this VM's) compiles the compiler's ~40 modules from source at
# every `jobhunter` start, ~60 ms. Stale files are harmless: Python checks each one's source.
bytecode: install
	$(BIN)/python -m compileall -q jobhunter_compiler jobhunter_runtime

# Graphviz renders core_docs/graph.svg; the tests of that option need `dot`. The tests of
# the generated admin frontend build it with node/npm and drive it in Debian's chromium;
# the deploy smoke test serves the built frontend with Debian's nginx.
SYSTEM_TOOLS := dot:graphviz node:nodejs npm:npm chromium:chromium nginx:nginx
system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages: run 'sudo apt-get install$$missing'" >&2; exit 1; fi; fi

test: install tools system-deps
	$(BIN)/python -m pytest -n 2 -q

lint: install
	$(BIN)/ruff check jobhunter_compiler jobhunter_runtime tests
	$(BIN)/black --check -q jobhunter_compiler jobhunter_runtime tests
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff check --fix -q jobhunter_compiler jobhunter_runtime tests
	$(BIN)/black -q jobhunter_compiler jobhunter_runtime tests

demo: bytecode
	$(BIN)/jobhunter demo --force $(DEMO_DIR)
	$(MAKE) -C $(DEMO_DIR) compile JOBHUNTER=$(abspath $(BIN))/jobhunter
	@echo "The demo is in $(DEMO_DIR)/. Start it (API, admin, reload on every save) with:"
	@echo "  cd $(DEMO_DIR) && $(abspath $(BIN))/jobhunter dev"
	@echo "then open the admin URL it prints; --no-frontend serves the API alone."

# Compile time (tests/bench/bench_compile.py), then the generated API's throughput against a
# hand-written FastAPI app and the cost of TaskRun records (tests/bench/bench_api.py), then
# the save-to-output latency of `compile --watch` on the demo (tests/bench/bench_watch.py), then
# how soon `jobhunter dev` serves a saved field and how many requests its reloads drop
# (tests/bench/bench_dev.py), then the admin's JavaScript: total, largest file, first-load
# bytes of the dashboard and the sign-in page (tests/bench/bench_bundle.py). Each prints
# JSON; together about 5 minutes on 2 cores. Override the options with the variables.
BENCH_COMPILE_ARGS ?= --repeat 3
BENCH_API_ARGS ?=
BENCH_WATCH_ARGS ?= --repeat 10
BENCH_DEV_ARGS ?= --repeat 5
BENCH_BUNDLE_ARGS ?=
bench: bytecode
	$(BIN)/python tests/bench/bench_compile.py $(BENCH_COMPILE_ARGS)
	$(BIN)/python tests/bench/bench_api.py $(BENCH_API_ARGS)
	$(BIN)/python tests/bench/bench_watch.py $(BENCH_WATCH_ARGS)
	$(BIN)/python tests/bench/bench_dev.py $(BENCH_DEV_ARGS)
	$(BIN)/python tests/bench/bench_bundle.py $(BENCH_BUNDLE_ARGS)

# After changing dependencies in pyproject.toml or $(TOOLS), or to take upstream releases:
# resolve the development and tools environments afresh in scratch venvs and write their
# versions to $(CONSTRAINTS) and $(TOOLS_CONSTRAINTS) (tests/test_pins.py checks both files
# against the environments the tests run with).
RELOCK_VENV := .venv-relock
RELOCK_TOOLS_VENV := .venv-tools-relock
relock:
	rm -rf $(RELOCK_VENV) $(RELOCK_TOOLS_VENV)
	$(PYTHON) -m venv $(RELOCK_VENV) && $(PYTHON) -m venv $(RELOCK_TOOLS_VENV)
	$(RELOCK_VENV)/bin/python -m pip install -q --upgrade pip
	$(RELOCK_VENV)/bin/python -m pip install -q -e '.[dev]'
	$(RELOCK_TOOLS_VENV)/bin/python -m pip install -q --upgrade pip
	$(RELOCK_TOOLS_VENV)/bin/python -m pip install -q $(TOOLS)
	$(RELOCK_VENV)/bin/python tests/lockfile.py > $(CONSTRAINTS)
	$(RELOCK_VENV)/bin/python tests/lockfile.py --tools $(RELOCK_TOOLS_VENV) > $(TOOLS_CONSTRAINTS)
	rm -rf $(RELOCK_VENV) $(RELOCK_TOOLS_VENV)
	rm -f $(STAMP) $(TOOLS_STAMP)

clean:
	rm -rf $(VENV) $(TOOLS_VENV) $(DEMO_DIR) .pytest_cache .ruff_cache .hypothesis
