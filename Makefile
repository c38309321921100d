# One way to do each thing. The two commands: `make serve` (installs what serving needs on first use, then runs
# the gateway) and `make test` (installs the test toolchain on first use, then runs the tests).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell PYENV_VERSION=3.13.0 python -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3)

.PHONY: install test lint format serve bench capture-clients conformance fuzz

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Stamps: an install runs again only when what it installs from changed. Progress is shown (no -q).
SERVE_STAMP := $(VENV)/.installed-serve
TEST_STAMP := $(VENV)/.installed-test

$(SERVE_STAMP): pyproject.toml | $(PY)
	@echo "== installing the gateway into $(VENV) (once)"
	$(PY) -m pip install --progress-bar on -e .
	@touch $@

# The Node clients (Claude Code, Codex, the Vercel AI SDK) are only for their end-to-end tests: without npm those
# tests skip, saying why (CI has npm and runs them).
$(TEST_STAMP): pyproject.toml package.json | $(PY)
	@echo "== installing the test toolchain into $(VENV) (once)"
	$(PY) -m pip install --progress-bar on -e '.[test]'
	@if command -v npm >/dev/null; then npm install --no-audit --no-fund; \
	else echo "note: npm not found: the Node clients' end-to-end tests will be skipped"; fi
	@touch $(SERVE_STAMP) $@

install: $(TEST_STAMP)

test: $(TEST_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

serve: $(SERVE_STAMP)
	$(VENV)/bin/ob1gw serve $(SERVE_ARGS)

# The anthropic and openai SDKs' own tests/api_resources (from their sdists, the pinned versions) against
# ob1gw serve on the fake upstream, strict and loose; tests/conformance/exclusions.toml says what may fail.
conformance: $(PY)
	$(PY) -m tests.conformance.run $(CONFORMANCE_ARGS)

# The mutation fuzzer at length (CI runs 5,000 cases; OB1GW_FUZZ_SEED replays a run).
FUZZ_CASES ?= 50000
fuzz:
	OB1GW_FUZZ_CASES=$(FUZZ_CASES) $(PY) -m pytest tests/integration/test_fuzz_mutations.py -q -s -p no:logging

bench:
	$(PY) -m bench $(BENCH_ARGS)
	$(PY) -m bench.sustained $(SUSTAINED_ARGS)
	$(PY) -m bench.lambda_cost
	$(PY) -m bench.upstream_client
	$(PY) -m bench.cpu_per_request
	$(PY) -m bench.responses_state
	$(PY) -m bench.web_search

# Re-capture what the newest real Anthropic clients send (tests/fixtures/clients/*.json). The clients go into
# scratch places outside the repo: Claude Code into $(CAPTURE_CLIENTS_DIR), the Python SDKs into $(CAPTURE_VENV).
CAPTURE_CLIENTS_DIR ?= /tmp/clients
CAPTURE_VENV ?= /tmp/capvenv
CLAUDE_CODE_VERSION ?= 2.1.332
ANTHROPIC_SDK_VERSION ?= 2.17.0
CLAUDE_AGENT_SDK_VERSION ?= 0.2.190

capture-clients: $(PY)
	mkdir -p $(CAPTURE_CLIENTS_DIR)
	cd $(CAPTURE_CLIENTS_DIR) && npm install --no-audit --no-fund --loglevel=error @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION)
	test -x $(CAPTURE_VENV)/bin/python || $(PYTHON) -m venv $(CAPTURE_VENV)
	$(CAPTURE_VENV)/bin/python -m pip install -q anthropic==$(ANTHROPIC_SDK_VERSION) claude-agent-sdk==$(CLAUDE_AGENT_SDK_VERSION) pydantic
	CLAUDE_BIN=$(CAPTURE_CLIENTS_DIR)/node_modules/.bin/claude CAPTURE_PYTHON=$(CAPTURE_VENV)/bin/python \
		$(PY) -m tests.clients.capture $(CAPTURE_ARGS)
