"""Codex CLI itself (npm ``@openai/codex``) in ``codex exec`` mode through the gateway's ``/v1/responses``,
offline, completing a turn that runs its shell tool (``exec_command``) against the fake OB-1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fakes import scripts
from tests.fakes.search_fake import FakeSearch
from tests.fixtures.gateway import GatewayHandle

REPO = Path(__file__).resolve().parents[2]
KEY_ENV = "OB1GW_CODEX_TEST_KEY"


def codex_binary() -> str | None:
    local = REPO / "node_modules" / ".bin" / "codex"
    if local.exists():
        return str(local)
    return shutil.which("codex")


CODEX = codex_binary()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CODEX is None and os.environ.get("CI") != "true", reason="Codex CLI not installed"),
]


def codex_home(gw: GatewayHandle, root: Path, extra: str = "") -> Path:
    """A CODEX_HOME whose config.toml routes every call to the gateway as a Responses provider."""
    home = root / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text(
        f"""model = "gpt-5"
model_provider = "ob1gw"
{extra}

[model_providers.ob1gw]
name = "ob1-gateway"
base_url = "{gw.base_url}/v1"
wire_api = "responses"
env_key = "{KEY_ENV}"
"""
    )
    return home


def run_codex(
    gw: GatewayHandle, root: Path, workdir: Path, prompt: str, config: str = ""
) -> subprocess.CompletedProcess[str]:
    assert CODEX is not None, "CI must install Codex (npm install)"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(root),
        "CODEX_HOME": str(codex_home(gw, root, config)),
        KEY_ENV: gw.key,
    }
    return subprocess.run(
        [
            CODEX, "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
            "-C", str(workdir), prompt,
        ],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_codex_exec_runs_its_shell_tool_through_the_gateway(
    gateway: GatewayHandle, fake_ob1: object, tmp_path: Path
) -> None:
    work = tmp_path / "project"
    work.mkdir()
    prompt = 'Please run this. USE_TOOL exec_command {"cmd": "echo made-by-codex > marker.txt"}'
    result = run_codex(gateway, tmp_path, work, prompt)
    assert result.returncode == 0, f"codex failed: {result.stdout[-2000:]} {result.stderr[-2000:]}"
    assert (work / "marker.txt").read_text().strip() == "made-by-codex", "the shell tool did not run"
    assert "Tool said:" in result.stdout, result.stdout[-2000:]

    chats = fake_ob1.chat_requests  # type: ignore[attr-defined]
    first = chats[0]["body"]
    assert first["stream"] is True and first["model"] == "openai/gpt-5"
    assert "exec_command" in {t["function"]["name"] for t in first["tools"]}
    final = chats[-1]["body"]["messages"]
    [assistant] = [m for m in final if m["role"] == "assistant" and m.get("tool_calls")]
    [call] = assistant["tool_calls"]
    assert call["function"]["name"] == "exec_command"
    assert json.loads(call["function"]["arguments"]) == {"cmd": "echo made-by-codex > marker.txt"}
    assert final[-1]["role"] == "tool" and final[-1]["tool_call_id"] == call["id"]

    records = gateway.usage_records(len(chats))
    assert len(records) == len(chats) >= 2
    assert all(r.key_id == gateway.key_id and r.route == "/v1/responses" and r.status == 200 for r in records)
    assert gateway.key not in result.stdout + result.stderr


def reasoning_then_shell(command: str, signature: str) -> list[scripts.ScriptItem]:
    """Signed reasoning (Claude via OpenRouter), then an ``exec_command`` call."""
    fmt = "anthropic-claude-v1"
    thought = {"type": "reasoning.text", "text": "I should run it.", "format": fmt, "index": 0}
    signed = {"type": "reasoning.text", "text": "", "signature": signature, "format": fmt, "index": 0}
    return [
        scripts.PROCESSING,
        scripts.role_chunk(),
        scripts.chunk({"content": "", "reasoning": thought["text"], "reasoning_details": [thought]}),
        scripts.chunk({"content": "", "reasoning_details": [signed]}),
        scripts.chunk(scripts._tool_delta(0, id="call_reasoned", name="exec_command")),
        scripts.chunk(scripts._tool_delta(0, args=json.dumps({"cmd": command}))),
        scripts.chunk({}, finish_reason="tool_calls", native_finish_reason="tool_use"),
        scripts.usage_chunk(),
        scripts.DONE,
    ]


def test_codex_replays_signed_reasoning_with_the_tool_result(
    gateway: GatewayHandle, fake_ob1: object, tmp_path: Path
) -> None:
    """Codex asks for ``reasoning.encrypted_content`` and sends the reasoning item back next turn; the
    upstream must get the signed thinking again on the assistant message that made the tool call."""
    work = tmp_path / "project"
    work.mkdir()
    fake_ob1.enqueue(reasoning_then_shell("echo reasoned > r.txt", "SIG-codex"))  # type: ignore[attr-defined]
    config = 'model_reasoning_effort = "high"\nmodel_reasoning_summary = "auto"'
    result = run_codex(gateway, tmp_path, work, "go", config)
    assert result.returncode == 0, f"codex failed: {result.stdout[-2000:]} {result.stderr[-2000:]}"
    assert (work / "r.txt").read_text().strip() == "reasoned"
    assert "I should run it." in result.stdout + result.stderr  # the reasoning summary reached Codex
    first, second = (r["body"] for r in fake_ob1.chat_requests)  # type: ignore[attr-defined]
    assert first["reasoning"] == {"effort": "high"}
    [assistant] = [m for m in second["messages"] if m["role"] == "assistant"]
    assert assistant["tool_calls"][0]["id"] == "call_reasoned"
    assert assistant["reasoning_details"] == [
        {"type": "reasoning.text", "text": "I should run it.", "signature": "SIG-codex",
         "format": "anthropic-claude-v1", "index": 0}
    ]  # fmt: skip


def resume_codex(gw: GatewayHandle, root: Path, workdir: Path, prompt: str) -> subprocess.CompletedProcess[str]:
    """``codex exec resume --last PROMPT``: the next turn of the conversation ``run_codex`` began."""
    assert CODEX is not None, "CI must install Codex (npm install)"
    env = {"PATH": os.environ["PATH"], "HOME": str(root), "CODEX_HOME": str(root / "codex-home"), KEY_ENV: gw.key}
    return subprocess.run(
        [
            CODEX, "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
            "-C", str(workdir), "resume", "--last", prompt,
        ],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip


OVERFLOW = (
    "This endpoint's maximum context length is 400000 tokens. However, you requested about 450123 tokens "
    "(450000 of text input, 123 of tool input, 0 in the output). Please reduce the length of either one."
)


def test_an_overflow_reaches_codex_as_its_context_window_error(
    gateway: GatewayHandle, fake_ob1: object, tmp_path: Path
) -> None:
    """``code: context_length_exceeded`` is what Codex maps to its ContextWindowExceeded (it then tells the user
    to compact or start a new thread; in ``exec`` it does not compact on its own)."""
    work = tmp_path / "project"
    work.mkdir()
    assert run_codex(gateway, tmp_path, work, "remember the word pelican").returncode == 0
    fake_ob1.enqueue(scripts.http_error(400, OVERFLOW))  # type: ignore[attr-defined]
    result = resume_codex(gateway, tmp_path, work, "which word was it")
    assert "ran out of room in the model's context window" in result.stdout + result.stderr, result.stderr[-2000:]


def test_codex_compacts_a_long_conversation_through_the_gateway_and_finishes(
    gateway: GatewayHandle, fake_ob1: object, tmp_path: Path
) -> None:
    """Codex compacts when its context fills (here: a low ``model_auto_compact_token_limit``): the compaction
    goes through ``/v1/responses`` like any turn, then the turn is answered."""
    work = tmp_path / "project"
    work.mkdir()
    first = run_codex(gateway, tmp_path, work, "remember the word pelican", "model_auto_compact_token_limit = 1000")
    assert first.returncode == 0, first.stderr[-2000:]
    second = resume_codex(gateway, tmp_path, work, "which word was it")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "context compacted" in second.stdout + second.stderr
    assert "Echo: which word was it" in second.stdout
    sent = [r["body"]["messages"][-1]["content"] for r in fake_ob1.chat_requests]  # type: ignore[attr-defined]
    print("the fake saw (last message of each request):", [str(s)[:60] for s in sent])
    assert "COMPACTION" in str(sent[1]) and sent[-1] == "which word was it"


def test_codex_with_web_search_on_gets_the_gateway_s_search(
    web_gateway: GatewayHandle, fake_ob1: object, fake_search: FakeSearch, tmp_path: Path
) -> None:
    """Codex offers ``web_search`` (search on: ``web_search = "live"``); the model's search is run by the gateway and
    Codex shows it and the answer that cites it."""
    work = tmp_path / "project"
    work.mkdir()
    result = run_codex(
        web_gateway, tmp_path, work, "Search the web for python 3.13 release notes", 'web_search = "live"'
    )
    assert result.returncode == 0, f"codex failed: {result.stdout[-2000:]} {result.stderr[-2000:]}"
    assert "web search: python 3.13 release notes" in result.stderr + result.stdout  # Codex shows the search item
    assert "Fact 1 about python 3.13 release notes." in result.stdout
    assert fake_search.queries == ["python 3.13 release notes"]
    first, second = fake_ob1.chat_requests  # type: ignore[attr-defined]
    names = [t["function"]["name"] for t in first["body"]["tools"]]
    assert names[-1] == "web_search" and "exec_command" in names  # the gateway's function beside Codex's tools
    assert second["body"]["messages"][-1]["role"] == "tool"
    [record] = web_gateway.usage_records(1)
    assert record.web_searches == 1 and record.stream and record.status == 200
