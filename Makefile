# One way to do each thing. `make install` once, then `make serve` or `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell PYENV_VERSION=3.13.0 python -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3)

.PHONY: install test lint format serve bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	$(PY) -m pip install -q -e '.[test]'
	npm install --no-audit --no-fund --loglevel=error

test:
	$(PY) -m pytest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

serve:
	$(VENV)/bin/ob1gw serve

bench:
	$(PY) -m bench $(BENCH_ARGS)
