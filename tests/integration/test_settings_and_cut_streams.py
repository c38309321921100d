"""Start-up refuses bad settings by name; a stream the client abandons still leaves its usage record."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.fakes import scripts
from tests.fixtures.gateway import GatewayHandle


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OB1GW_MODELS_TTL_SECONDS", "-5"),
        ("OB1GW_UPSTREAM_URL", "ftp://example.com"),
        ("OB1GW_BACKEND", "mainframe"),
        ("OB1GW_MODEL_ALIASES", "{not json"),
    ],
)
def test_invalid_setting_stops_serve_and_names_it(tmp_path: object, variable: str, value: str) -> None:
    env = {**os.environ, "OB1GW_HOME": str(tmp_path), variable: value}
    done = subprocess.run(
        [sys.executable, "-m", "ob1_gateway.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert variable in done.stderr
    assert "Traceback" not in done.stderr


def test_abandoned_stream_is_recorded_with_what_was_consumed(gateway: GatewayHandle, fake_ob1: object) -> None:
    slow = [
        scripts.PROCESSING,
        scripts.role_chunk(),
        scripts.chunk({"role": "assistant", "content": "first words"}),
        scripts.usage_chunk(prompt_tokens=77, completion_tokens=3, cost=0.001),
        30,  # the upstream goes quiet; the client leaves before [DONE]
        scripts.DONE,
    ]
    fake_ob1.enqueue(slow)
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 50,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with httpx.stream(
        "POST", gateway.base_url + "/v1/messages", json=body, headers={"x-api-key": gateway.key}, timeout=30
    ) as response:
        assert response.status_code == 200
        seen = ""
        for text in response.iter_text():
            seen += text
            if "first words" in seen:
                break
    started = time.monotonic()
    [record] = gateway.usage_records(1, timeout=15)
    assert time.monotonic() - started < 15
    assert record.status == 499 and record.stream and not record.estimated  # the upstream said what it used
    assert (record.input_tokens, record.output_tokens, record.cost_micros) == (77, 3, 1000)
