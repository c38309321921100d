"""Cost by session: the client's session header (Claude Code's ``X-Claude-Code-Session-Id``, opencode's
``x-session-id``) is kept in the usage record, so ``ob1gw usage --by session`` and ``GET /v1/usage?by=session``
(a key sees its own) answer "what did that session cost"; a malformed id is no session, never a refusal."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from ob1_gateway.cli import app
from typer.testing import CliRunner

from tests.fakes import scripts as S
from tests.fixtures.gateway import GatewayHandle


def ask(gw: GatewayHandle, key: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        gw.base_url + "/v1/messages",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01", **headers},
        json={"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )


def test_a_sessions_cost_is_kept_and_can_be_asked(
    gateway: GatewayHandle, fake_ob1: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, other_key = gateway.new_key("other")
    calls = [
        (gateway.key, {"X-Claude-Code-Session-Id": "cc-session-1"}),
        (gateway.key, {"X-Claude-Code-Session-Id": "cc-session-1"}),
        (gateway.key, {"x-session-id": "ses_opencode"}),
        (gateway.key, {"X-Claude-Code-Session-Id": "id=forged key=x"}),  # not an id: no session
        (other_key, {"X-Claude-Code-Session-Id": "someone-elses"}),
    ]
    for key, headers in calls:
        fake_ob1.enqueue(S.completion("ok"))
        assert ask(gateway, key, headers).status_code == 200
    records = gateway.usage_records(len(calls))
    sessions = sorted(r.session_id for r in records)
    assert sessions == ["", "cc-session-1", "cc-session-1", "ses_opencode", "someone-elses"]

    mine = httpx.get(
        gateway.base_url + "/v1/usage", params={"by": "session"}, headers={"x-api-key": gateway.key}, timeout=30
    ).json()
    by_session = {row["session_id"]: row["requests"] for row in mine["rows"]}
    assert by_session == {"": 1, "cc-session-1": 2, "ses_opencode": 1}  # never the other key's session

    bad = httpx.get(gateway.base_url + "/v1/usage", params={"by": "key"}, headers={"x-api-key": gateway.key})
    assert bad.status_code == 400 and "'by'" in bad.json()["error"]["message"]

    monkeypatch.setenv("OB1GW_HOME", str(gateway.settings.home))
    monkeypatch.setenv("OB1GW_BACKEND", "local")
    result = CliRunner().invoke(app, ["usage", "--by", "key,session", "--json"])
    assert result.exit_code == 0, result.output
    rows = {(r["key_name"], r["session_id"]): r["requests"] for r in json.loads(result.output)}
    assert rows == {
        ("tester", ""): 1,
        ("tester", "cc-session-1"): 2,
        ("tester", "ses_opencode"): 1,
        ("other", "someone-elses"): 1,
    }
    table = CliRunner().invoke(app, ["usage", "--by", "session"])
    assert "cc-session-1" in table.output and "(none)" in table.output
