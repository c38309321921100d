"""``ob1gw serve`` on the aws backend writes each log line once, as Powertools JSON, without the HTTP client's
per-call lines (those are for DEBUG).

With Powertools on (the aws backend turns it on outside Lambda too), the package logger has its JSON
handler. If its records also propagated to the root handler that ``serve`` configures, every usage
line would appear a second time as plain text, and a log pipeline would count each request twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
from ob1_gateway.settings import get_settings
from ob1_gateway.stores.backends import build_backends

from tests.fakes.ob1_fake import FakeOB1Server
from tests.fixtures.gateway import free_port, seed_login_and_key, wait_until_healthy


def test_usage_line_is_written_once_as_json(
    aws_env: dict[str, str], fake_ob1: FakeOB1Server, monkeypatch: object
) -> None:
    env = {**os.environ, **aws_env, **fake_ob1.env(), "OB1GW_LOG_LEVEL": "INFO"}
    env.pop("OB1GW_UPSTREAM_API_KEY", None)
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    get_settings.cache_clear()
    backends = build_backends(get_settings())
    record, key = seed_login_and_key(backends, fake_ob1, "log-reader")

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ob1_gateway.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, server)
        response = httpx.post(
            base + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + 10
        while not list(backends.usage_store.records()) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)

    json_lines = [line for line in output.splitlines() if line.startswith("{") and '"message":"usage"' in line]
    text_lines = [line for line in output.splitlines() if line.endswith(" usage")]  # the root handler's format
    assert len(json_lines) == 1 and not text_lines, output
    assert json.loads(json_lines[0])["usage"]["key_id"] == record.key_id
    assert key not in output
    assert "HTTP Request:" not in output  # the HTTP client's per-call INFO line only at DEBUG
