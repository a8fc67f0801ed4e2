# Two set-up commands: `make demo` and `make test`. Everything they need is installed from here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
# Local wheels (the CPU build of PyTorch that requirements-overrides.txt pins), when present.
WHEELS ?= /opt/wheels
FIND_LINKS := $(if $(wildcard $(WHEELS)),--find-links $(WHEELS))
# Some machines set PYTHONDONTWRITEBYTECODE: then every process (each test worker, each SDK and
# `wk` subprocess the tests start) compiles its ~1,700 modules again, seconds each time. The
# commands run here may cache bytecode (in __pycache__, ignored by git).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install demo test lint format bench mutation clean

$(STAMP): requirements.lock pyproject.toml requirements-overrides.txt tests/dashboard/oidc/package-lock.json
	command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "chromium not installed: browser tests will skip (and fail under CI=true)"
	command -v java >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null; } || echo "java not installed: the Spark tests will fail"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python $(FIND_LINKS) requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	command -v npm >/dev/null 2>&1 && npm ci --prefix tests/dashboard/oidc --no-audit --no-fund --loglevel=error || echo "npm not found or npm ci failed: the single sign-on tests will skip (and fail under CI=true)"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/wk demo

lint: install
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# Four workers on two cores: many tests wait on sockets, subprocesses and servers, and two
# workers left the cores idle a third of the run.
test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 4 --dist loadfile --durations=15

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# Long runs, kept out of `make test`; each prints the figures its section of benchmarks/README.md shows.
bench: install
	$(BIN)/python benchmarks/drift_vs_evidently.py --sizes 10000,100000,1000000
	$(BIN)/python benchmarks/embedding_drift.py --seeds 50
	$(BIN)/python benchmarks/dashboard_render.py --systems 200 --requests 30
	$(BIN)/python benchmarks/switch_propagation.py --clients 200 --flips 20 --client-processes 8
	$(BIN)/python benchmarks/switch_propagation.py --clients 1000 --flips 10 --client-processes 8 --gap 2
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/cli_startup.py --runs 15
	$(BIN)/python benchmarks/alarm_budget.py --seeds 5
	$(BIN)/python benchmarks/tick_at_traffic.py --per-day 5000,50000,500000
	$(BIN)/python benchmarks/lake_profile.py --rows 10000000
	$(BIN)/python benchmarks/estimation.py
	$(BIN)/python benchmarks/estimated_alarms.py --seeds 2 --tick-every 7

# Mutation testing of the pure decision modules ([tool.mutmut] in pyproject.toml), kept out of
# `make test`. Lists the survivors; `mutmut show <name>` shows one. Results stay in mutants/, so
# a re-run only retests what changed.
mutation: install
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

lock:
	$(BIN)/uv pip compile pyproject.toml --extra server --extra embeddings --extra spark --extra dev --python-version 3.11 \
		$(FIND_LINKS) --override requirements-overrides.txt -o requirements.lock

clean:
	rm -rf $(VENV) .watchkeeper
