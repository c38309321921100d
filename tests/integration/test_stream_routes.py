"""StreamFunction's app (``create_app(stream_only=True)``): exactly the routes template.yaml sends to
StreamFunction, plus ``/health`` for the Web Adapter's readiness check, and none of the buffered ones,
whose modules its cold start does not import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from ob1_gateway.app import STREAM_ROUTERS, create_app
from ob1_gateway.stores.backends import build_backends

from tests.fixtures.gateway import UvicornThread, gateway_settings, seed_login_and_key
from tests.fixtures.moto_server import REPO, load_template

READINESS = ("GET", "/health")
CHAT_BODIES = {
    "/v1/messages": {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
    "/v1/chat/completions": {"model": "anthropic/claude-sonnet-4.5", "messages": [{"role": "user", "content": "hi"}]},
    "/v1/responses": {"model": "anthropic/claude-sonnet-4.5", "input": "hi", "store": False},
}


def _events(function: str) -> set[tuple[str, str]]:
    events = load_template()["Resources"][function]["Properties"]["Events"].values()
    return {(e["Properties"]["Method"].upper(), e["Properties"]["Path"]) for e in events if e["Type"] == "Api"}


def _stream_app_routes() -> set[tuple[str, str]]:
    return {(method, route.path) for router in STREAM_ROUTERS for route in router.routes for method in route.methods}


def test_the_stream_app_has_exactly_the_templates_stream_routes() -> None:
    assert _stream_app_routes() - {READINESS} == _events("StreamFunction")
    assert READINESS in _stream_app_routes()


def test_the_stream_app_serves_them_and_nothing_buffered(tmp_path: Path, fake_ob1: Any) -> None:
    settings = gateway_settings(tmp_path / "home", fake_ob1)
    backends = build_backends(settings)
    _, key = seed_login_and_key(backends, fake_ob1, "streamer")
    headers = {"authorization": f"Bearer {key}", "anthropic-version": "2023-06-01"}
    with UvicornThread(create_app(settings, backends, stream_only=True)) as server:
        base = f"http://127.0.0.1:{server.port}"
        assert httpx.get(base + "/health").status_code == 200
        for method, path in sorted(_events("StreamFunction")):
            answer = httpx.request(method, base + path, json=CHAT_BODIES[path], headers=headers, timeout=30)
            assert answer.status_code == 200, (path, answer.text)
        for method, path in [
            ("GET", "/v1/models"),
            ("POST", "/v1/messages/count_tokens"),
            ("GET", "/v1/usage"),
            ("GET", "/v1/responses/resp_1"),
            ("GET", "/openapi.json"),
            ("GET", "/docs"),
        ]:
            answer = httpx.request(method, base + path, json=CHAT_BODIES["/v1/messages"], headers=headers)
            assert answer.status_code == 404, (path, answer.text)
            assert "error" in answer.json()


PROGRAM = """
import json, sys
from ob1_gateway.hosting.cold_imports import lean_imports
lean_imports()
from ob1_gateway.app import create_app
from ob1_gateway.settings import load_settings
create_app(load_settings(home=sys.argv[1]), stream_only=True)
from fastapi.openapi.models import OpenAPI
print(json.dumps({"modules": sorted(sys.modules), "openapi_models_built": OpenAPI.__pydantic_complete__}))
"""
NOT_FOR_STREAMS = (
    "pydantic.v1",  # FastAPI imports it to check a response model or parameter for pydantic v1
    "ob1_gateway.api.routes.models",
    "ob1_gateway.api.routes.count_tokens",
    "ob1_gateway.api.routes.responses_extra",
    "ob1_gateway.api.routes.usage_report",
    "ob1_gateway.api.routes.metrics",
    "ob1_gateway.telemetry.prometheus",
    "ob1_gateway.cli",
    "ob1_gateway.cli.local_aws",
)


def test_building_the_stream_app_imports_nothing_it_does_not_serve(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "shared"), "HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path / "home")], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert [m for m in NOT_FOR_STREAMS if m in seen["modules"]] == []
    assert seen["openapi_models_built"] is False
