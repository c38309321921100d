"""Loaded into an SDK's own pytest run (``-p ob1gw_conformance_plugin``) by ``tests/conformance/run.py``.

Three jobs, nothing else: the suite's clients carry the gateway key the driver issued (their conftest
hard-codes a placeholder key); the openai suite's tests of a stored response find one under the id
they name (``tests/conformance/seed.py``, run before each); and each test named in ``exclusions.toml``
(``tests`` patterns, less ``unless`` ones, matched against node ids without the parametrize id) is marked as an expected
failure with its reason. The mark is strict: an excluded test that passes fails the run, so an
exclusion cannot outlive its cause. An exclusion may name the errors it must fail with (``raises``):
an endpoint the gateway does not offer must be refused with a clear 4xx, not a 500 or a hang.

A top-level module (not ``tests.conformance…``): the SDK's own ``tests`` package is on the path there.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

SDK = os.environ["OB1GW_CONFORMANCE_SDK"]
KEY = os.environ["OB1GW_CONFORMANCE_KEY"]
EXCLUSIONS = Path(os.environ["OB1GW_CONFORMANCE_EXCLUSIONS"])


SEED = json.loads(os.environ.get("OB1GW_CONFORMANCE_SEED", "[]"))
SEEDED = [f"tests/api_resources/test_responses.py::*::test_*_{name}*" for name in ("retrieve", "delete", "cancel")]


@pytest.fixture(autouse=True)
def _stored_response(request: pytest.FixtureRequest) -> None:
    """Store the response a retrieve, delete or cancel test names, afresh (a delete test removed it)."""
    if SDK == "openai" and SEED and any(fnmatch.fnmatchcase(request.node.nodeid.split("[", 1)[0], p) for p in SEEDED):
        subprocess.run(SEED, cwd=os.environ["OB1GW_CONFORMANCE_REPO"], check=True, timeout=60)


def _exclusions() -> list[dict[str, Any]]:
    entries = tomllib.loads(EXCLUSIONS.read_text())["exclude"]
    return [e for e in entries if e["sdk"] == SDK]


def _errors(names: list[str]) -> tuple[type[BaseException], ...]:
    module = importlib.import_module(SDK)
    return tuple(getattr(module, name) for name in names)


def pytest_sessionstart(session: pytest.Session) -> None:
    """The suite's conftest reads its module-level ``api_key`` when it builds a client: use the gateway's."""
    for plugin in session.config.pluginmanager.get_plugins():
        if getattr(plugin, "__name__", "") == "tests.conftest" and hasattr(plugin, "api_key"):
            plugin.api_key = KEY
            return
    raise pytest.UsageError(f"{SDK}: tests/conftest.py with an api_key was not found; the suite changed")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    entries = _exclusions()
    used: set[int] = set()
    for item in items:
        test = item.nodeid.split("[", 1)[0]  # every mode of a test: strict, loose, aiohttp
        for index, entry in enumerate(entries):
            if any(fnmatch.fnmatchcase(test, p) for p in entry["tests"]) and not any(
                fnmatch.fnmatchcase(test, p) for p in entry.get("unless", ())
            ):
                used.add(index)
                raises = _errors(entry["raises"]) if entry.get("raises") else None
                item.add_marker(pytest.mark.xfail(reason=f"excluded: {entry['reason']}", raises=raises, strict=True))
                break
    unused = [entries[i]["tests"] for i in range(len(entries)) if i not in used]
    if unused:
        raise pytest.UsageError(f"{SDK}: exclusions that match no test (remove them): {unused}")
