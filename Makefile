# One way to do each thing. `make install` once, then `make serve` or `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell PYENV_VERSION=3.13.0 python -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3)

.PHONY: install test lint format serve bench capture-clients conformance fuzz

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	$(PY) -m pip install -q -e '.[test]'
	npm install --no-audit --no-fund --loglevel=error

test:
	$(PY) -m pytest $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

serve:
	$(VENV)/bin/ob1gw serve

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

# Re-capture what the newest real Anthropic clients send (tests/fixtures/clients/*.json). The clients go into
# scratch places outside the repo: Claude Code into $(CAPTURE_CLIENTS_DIR), the Python SDKs into $(CAPTURE_VENV).
CAPTURE_CLIENTS_DIR ?= /tmp/clients
CAPTURE_VENV ?= /tmp/capvenv
CLAUDE_CODE_VERSION ?= 2.1.332
ANTHROPIC_SDK_VERSION ?= 2.16.0
CLAUDE_AGENT_SDK_VERSION ?= 0.2.189

capture-clients: $(PY)
	mkdir -p $(CAPTURE_CLIENTS_DIR)
	cd $(CAPTURE_CLIENTS_DIR) && npm install --no-audit --no-fund --loglevel=error @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION)
	test -x $(CAPTURE_VENV)/bin/python || $(PYTHON) -m venv $(CAPTURE_VENV)
	$(CAPTURE_VENV)/bin/python -m pip install -q anthropic==$(ANTHROPIC_SDK_VERSION) claude-agent-sdk==$(CLAUDE_AGENT_SDK_VERSION) pydantic
	CLAUDE_BIN=$(CAPTURE_CLIENTS_DIR)/node_modules/.bin/claude CAPTURE_PYTHON=$(CAPTURE_VENV)/bin/python \
		$(PY) -m tests.clients.capture $(CAPTURE_ARGS)
