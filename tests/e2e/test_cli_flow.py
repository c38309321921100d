"""The README's flow with the real ``ob1gw`` program: token import, keys create, serve, usage --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anthropic
import openai

from tests.fixtures.gateway import free_port, wait_until_healthy

OB1GW = [sys.executable, "-m", "ob1_gateway.cli"]


def run(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([*OB1GW, *args], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_readme_flow(fake_ob1: object, tmp_path: Path) -> None:
    env = {**os.environ, **fake_ob1.env(), "OB1GW_HOME": str(tmp_path / "home")}  # type: ignore[attr-defined]
    env.pop("OB1GW_UPSTREAM_API_KEY", None)
    login = fake_ob1.issue_login()  # type: ignore[attr-defined]
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps(fake_ob1.credentials_json(login)))  # type: ignore[attr-defined]

    out = run(env, "token", "import", str(creds))
    assert login["access_token"] not in out
    status = run(env, "token", "status")
    assert login["access_token"] not in status and login["refresh_token"] not in status
    created = json.loads(run(env, "keys", "create", "alice", "--json"))
    assert created["key"].startswith("ob1gw_") and created["key_id"] in created["key"]

    port = free_port()
    server = subprocess.Popen(
        [*OB1GW, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, server)
        a = anthropic.Anthropic(base_url=base, api_key=created["key"], max_retries=0)
        a.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "one"}])
        o = openai.OpenAI(base_url=base + "/v1", api_key=created["key"], max_retries=0)
        o.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "two"}])
    finally:
        server.terminate()
        logs = server.communicate(timeout=30)[0]
    assert created["key"] not in logs and login["access_token"] not in logs

    expected = {r["body"]["model"]: r["usage"] for r in fake_ob1.chat_requests}  # type: ignore[attr-defined]
    rows = json.loads(run(env, "usage", "--json"))
    assert {r["model"] for r in rows} == set(expected) == {"anthropic/claude-haiku-4.5", "openai/gpt-4o-mini"}
    for row in rows:
        u = expected[row["model"]]
        assert row["key_id"] == created["key_id"] and row["key_name"] == "alice"
        assert row["requests"] == 1
        assert (row["input_tokens"], row["output_tokens"]) == (u["prompt_tokens"], u["completion_tokens"])
        assert row["cost_micros"] == round(u["cost"] * 1_000_000)
