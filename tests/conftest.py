"""Fixtures shared by every test folder: the fake OB-1, the gateway under uvicorn, moto's server."""

from __future__ import annotations

import importlib.util

pytest_plugins = ["tests.fixtures.fake_upstream", "tests.fixtures.gateway"]
if importlib.util.find_spec("tests.fixtures.moto_server") is not None:
    pytest_plugins.append("tests.fixtures.moto_server")
