"""The Claude Agent SDK (PyPI ``claude-agent-sdk``, pinned in pyproject) on its defaults — its bundled
Claude Code, its default model — driving one query with a tool through the gateway."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import AssistantMessage, ClaudeAgentOptions, ResultMessage, TextBlock, query

from tests.fixtures.gateway import GatewayHandle

pytestmark = pytest.mark.e2e


async def _run(gw: GatewayHandle, prompt: str, cwd: Path) -> list[Any]:
    home = cwd.parent / "home"
    home.mkdir(exist_ok=True)
    options = ClaudeAgentOptions(
        cwd=str(cwd),
        permission_mode="bypassPermissions",
        env={
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": gw.base_url,
            "ANTHROPIC_API_KEY": gw.key,
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "IS_SANDBOX": "1",
        },
    )
    return [message async for message in query(prompt=prompt, options=options)]


def test_agent_sdk_query_runs_a_tool(gateway: GatewayHandle, fake_ob1: Any, tmp_path: Path) -> None:
    work = tmp_path / "project"
    work.mkdir()
    command = {"command": "echo from-the-agent-sdk > marker.txt", "description": "write marker"}
    messages = asyncio.run(asyncio.wait_for(_run(gateway, f"Go. USE_TOOL Bash {json.dumps(command)}", work), 180))

    assert (work / "marker.txt").read_text().strip() == "from-the-agent-sdk", "the Bash tool did not run"
    [result] = [m for m in messages if isinstance(m, ResultMessage)]
    assert not result.is_error, result
    texts = [b.text for m in messages if isinstance(m, AssistantMessage) for b in m.content if isinstance(b, TextBlock)]
    assert any(t.startswith("Tool said:") for t in texts), texts
    sent = [r["body"] for r in fake_ob1.chat_requests]
    assert len(sent) == 2 and all(r.get("status", 200) == 200 for r in fake_ob1.chat_requests)
    assert [m["role"] for m in sent[0]["messages"]][:3] == ["system", "user", "system"]
    assert any(m["role"] == "tool" for m in sent[1]["messages"])
    records = gateway.usage_records(2)
    assert len(records) == 2 and all(r.key_id == gateway.key_id for r in records)
