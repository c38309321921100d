"""Claude Code itself (npm ``@anthropic-ai/claude-code``) in ``-p`` mode through the gateway, offline,
completing a turn that runs a tool against the fake OB-1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.gateway import GatewayHandle

REPO = Path(__file__).resolve().parents[2]


def claude_binary() -> str | None:
    local = REPO / "node_modules" / ".bin" / "claude"
    if local.exists():
        return str(local)
    return shutil.which("claude")


CLAUDE = claude_binary()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CLAUDE is None and os.environ.get("CI") != "true", reason="Claude Code not installed"),
]


def run_claude(gw: GatewayHandle, workdir: Path, prompt: str, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CLAUDE is not None, "CI must install Claude Code (npm install)"
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": gw.base_url,
        "ANTHROPIC_API_KEY": gw.key,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "IS_SANDBOX": "1",
    }
    return subprocess.run(
        [
            CLAUDE,
            "-p",
            prompt,
            "--model",
            "claude-sonnet-4-5-20250929",
            "--dangerously-skip-permissions",
            *extra,
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def test_claude_code_runs_a_tool_through_the_gateway(gateway: GatewayHandle, fake_ob1: object, tmp_path: Path) -> None:
    work = tmp_path / "project"
    work.mkdir()
    command = {"command": "echo made-by-claude-code > marker.txt", "description": "write marker"}
    prompt = f"Please run this. USE_TOOL Bash {json.dumps(command)}"
    result = run_claude(gateway, work, prompt)
    assert result.returncode == 0, f"claude failed: {result.stdout[-2000:]} {result.stderr[-2000:]}"
    assert (work / "marker.txt").read_text().strip() == "made-by-claude-code", "the Bash tool did not run"
    assert "Tool said:" in result.stdout
    chats = fake_ob1.chat_requests
    tool_turn = [r for r in chats if any(m.get("role") == "tool" for m in r["body"]["messages"])]
    assert tool_turn, "Claude Code never sent the tool result back through the gateway"
    records = gateway.usage_records(len(chats))
    assert len(records) >= 2 and all(r.key_id == gateway.key_id for r in records)
    assert gateway.key not in result.stdout + result.stderr
