"""Claude Code itself (npm ``@anthropic-ai/claude-code``, the version in package.json) in ``-p`` mode through
the gateway, offline, against the fake OB-1 — on its defaults: no ``--model``, so it sends what a new user's
install sends (today ``claude-opus-5-5``, a ``role: "system"`` message, adaptive thinking, ``max_tokens``
128000, deferred tools). One test keeps a pinned 4.5 id, which still gets the older request shape."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.capture import claude_env as offline_claude_env
from tests.fakes import scripts as S
from tests.fakes.ob1_fake import EFFORTS, MODELS_BY_ID
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


def claude_env(base_url: str, key: str, home: Path) -> dict[str, str]:
    """The offline environment the recorded fixtures were captured with, with a gateway key."""
    home.mkdir(exist_ok=True)
    return offline_claude_env(base_url, home, ANTHROPIC_API_KEY=key, DISABLE_ERROR_REPORTING="1")


def run_claude(gw: GatewayHandle, workdir: Path, prompt: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """``claude -p PROMPT`` as a user runs it; ``flags`` are only what the scenario itself is about."""
    assert CLAUDE is not None, "CI must install Claude Code (npm install)"
    result = subprocess.run(
        [CLAUDE, "-p", prompt, "--dangerously-skip-permissions", *flags],
        cwd=workdir,
        env=claude_env(gw.base_url, gw.key, workdir.parent / "home"),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert gw.key not in result.stdout + result.stderr
    assert result.returncode == 0, f"claude failed: {result.stdout[-2000:]} {result.stderr[-2000:]}"
    return result


def plan(*steps: tuple[str, dict[str, Any]]) -> str:
    """A prompt the fake's echo agent follows: one tool call per step, then ``Tool said: <last result>``."""
    return "Please do this. " + " ".join(f"USE_TOOL {name} {json.dumps(args)}" for name, args in steps)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    return work


def bodies(fake: Any) -> list[dict[str, Any]]:
    return [r["body"] for r in fake.chat_requests]


def assert_accepted_upstream(fake: Any, gw: GatewayHandle) -> list[dict[str, Any]]:
    """Every turn reached the upstream as a body a provider takes, and was metered once."""
    sent = bodies(fake)
    assert sent and all(r.get("status", 200) == 200 for r in fake.chat_requests), fake.chat_requests[-1]
    for body in sent:
        assert body["max_tokens"] <= MODELS_BY_ID[body["model"]]["top_provider"]["max_completion_tokens"]
        assert "DeferredToolPlaceholder" not in {t["function"]["name"] for t in body.get("tools") or []}
    records = gw.usage_records(len(sent))
    assert len(records) == len(sent) and all(r.key_id == gw.key_id and r.status == 200 for r in records)
    return sent


def test_defaults_text_turn(gateway: GatewayHandle, fake_ob1: Any, project: Path) -> None:
    result = run_claude(gateway, project, "say hello")
    assert "Echo:" in result.stdout and "say hello" in result.stdout
    [body] = assert_accepted_upstream(fake_ob1, gateway)
    # the default model (an opus id newer than the catalog) resolved to the newest opus upstream
    assert body["model"] == "anthropic/claude-opus-4.1"
    roles = [m["role"] for m in body["messages"]]
    assert roles[:3] == ["system", "user", "system"], "the system-role message stays after the first user turn"
    assert body["reasoning"]["effort"] in EFFORTS


def test_defaults_tool_loop_write_read_edit_bash(gateway: GatewayHandle, fake_ob1: Any, project: Path) -> None:
    notes = project / "notes.txt"
    prompt = plan(
        ("Write", {"file_path": str(notes), "content": "alpha\n"}),
        ("Read", {"file_path": str(notes)}),
        ("Edit", {"file_path": str(notes), "old_string": "alpha", "new_string": "beta"}),
        ("Bash", {"command": "cat notes.txt > copied.txt", "description": "copy the notes"}),
    )
    result = run_claude(gateway, project, prompt)
    assert notes.read_text() == "beta\n", "Write then Edit did not run"
    assert (project / "copied.txt").read_text() == "beta\n", "Bash did not run after the edit"
    assert "Tool said:" in result.stdout
    sent = assert_accepted_upstream(fake_ob1, gateway)
    assert len(sent) == 5
    last = sent[-1]["messages"]
    calls = [c["function"]["name"] for m in last for c in m.get("tool_calls") or []]
    assert calls == ["Write", "Read", "Edit", "Bash"]
    read_result = next(m for m in last if m["role"] == "tool" and "alpha" in json.dumps(m["content"]))
    assert read_result, "the Read result went back upstream"


def test_continue_resumes_the_conversation(gateway: GatewayHandle, fake_ob1: Any, project: Path) -> None:
    run_claude(gateway, project, "remember the word pelican")
    result = run_claude(gateway, project, "which word was it", "--continue")
    assert "which word was it" in result.stdout
    first, second = assert_accepted_upstream(fake_ob1, gateway)
    texts = json.dumps(second["messages"])
    assert "remember the word pelican" in texts and "which word was it" in texts
    assert any(m["role"] == "assistant" for m in second["messages"]), "the first answer was sent back"
    assert len(second["messages"]) > len(first["messages"])


def test_haiku_alias_with_effort_xhigh(gateway: GatewayHandle, fake_ob1: Any, project: Path) -> None:
    result = run_claude(gateway, project, "quick one", "--model", "haiku", "--effort", "xhigh")
    assert "quick one" in result.stdout
    [body] = assert_accepted_upstream(fake_ob1, gateway)
    assert body["model"] == "anthropic/claude-haiku-4.5"
    assert body["reasoning"] == {"effort": "xhigh"}


def test_tool_search_loads_a_deferred_tool_and_calls_it(gateway: GatewayHandle, fake_ob1: Any, project: Path) -> None:
    prompt = plan(("ToolSearch", {"query": "select:CronList", "max_results": 5}), ("CronList", {}))
    result = run_claude(gateway, project, prompt)
    assert "Tool said:" in result.stdout and "No scheduled jobs" in result.stdout
    first, loaded, done = assert_accepted_upstream(fake_ob1, gateway)

    def tool_names(body: dict[str, Any]) -> set[str]:
        return {t["function"]["name"] for t in body.get("tools") or []}

    assert "CronList" not in tool_names(first), "a deferred tool nothing loaded stays out of the upstream call"
    assert "CronList" in tool_names(loaded) and "CronList" in tool_names(done)
    reference = next(m for m in loaded["messages"] if m["role"] == "tool")
    assert "CronList" in json.dumps(reference["content"]), "the tool_reference became text the model reads"
    assert [c["function"]["name"] for m in done["messages"] for c in m.get("tool_calls") or []] == [
        "ToolSearch",
        "CronList",
    ]


def test_pinned_sonnet_4_5_older_request_shape(gateway: GatewayHandle, fake_ob1: Any, project: Path) -> None:
    command = {"command": "echo made-by-claude-code > marker.txt", "description": "write marker"}
    result = run_claude(gateway, project, plan(("Bash", command)), "--model", "claude-sonnet-4-5-20250929")
    assert (project / "marker.txt").read_text().strip() == "made-by-claude-code", "the Bash tool did not run"
    assert "Tool said:" in result.stdout
    first, second = assert_accepted_upstream(fake_ob1, gateway)
    assert first["model"] == "anthropic/claude-sonnet-4.5"
    assert first["reasoning"]["max_tokens"] < first["max_tokens"], "the thinking budget stays below max_tokens"
    assert any(m["role"] == "tool" for m in second["messages"])


# OpenRouter's words for an overflow, as the upstream answers it (``../shared/DESIGN.md`` §12).
OVERFLOW = (
    "This endpoint's maximum context length is 200000 tokens. However, you requested about 250123 tokens "
    "(250000 of text input, 123 of tool input, 0 in the output). Please reduce the length of either one, or use "
    'the "middle-out" transform to compress your prompt automatically.'
)


def test_an_overflow_mid_conversation_is_compacted_and_the_turn_finishes(
    gateway: GatewayHandle, fake_ob1: Any, project: Path
) -> None:
    """The upstream overflows once, on the second turn: Claude Code, told ``prompt is too long: N tokens > M
    maximum``, compacts the conversation (its next request) and then answers the turn."""
    run_claude(gateway, project, "remember the word pelican")
    fake_ob1.enqueue(S.http_error(400, OVERFLOW))
    result = run_claude(gateway, project, "which word was it", "--continue")
    assert "which word was it" in result.stdout
    sequence = [(r.get("status", 200), len(r["body"]["messages"]), _gist(r["body"])) for r in fake_ob1.chat_requests]
    print("the fake saw (status, messages):", sequence)
    _, refused, *after = fake_ob1.chat_requests
    assert refused["status"] == 400 and len(after) >= 2, sequence
    compaction, *_, answer = after
    assert "summar" in json.dumps(compaction["body"]["messages"]).lower(), "the request after the 400 compacts"
    assert "which word was it" in json.dumps(answer["body"]["messages"])
    records = gateway.usage_records(len(fake_ob1.chat_requests))
    assert sorted(r.status for r in records).count(400) == 1


def test_model_discovery_lists_the_gateways_models_in_anthropic_style(
    gateway: GatewayHandle, fake_ob1: Any, project: Path
) -> None:
    """With ``CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1`` Claude Code lists ``GET /v1/models`` and keeps the
    ids that start with claude or anthropic (its model picker's cache); they are the Anthropic-style ids its
    model-family logic keys on, each one the gateway serves."""
    home = project.parent / "home"
    env = {**claude_env(gateway.base_url, gateway.key, home), "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1"}
    assert CLAUDE is not None
    result = subprocess.run(
        [CLAUDE, "-p", "hello", "--dangerously-skip-permissions"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    cache = json.loads((home / ".claude" / "cache" / "gateway-models.json").read_text())
    discovered = [m["id"] for m in cache["models"]]
    claude_models = sorted(
        re.sub(r"(?<=\d)\.(?=\d)", "-", m["id"].removeprefix("anthropic/"))
        for m in MODELS_BY_ID.values()
        if m["id"].startswith("anthropic/")
    )
    assert sorted(discovered) == claude_models
    assert all(m["display_name"] for m in cache["models"])


def _gist(body: dict[str, Any]) -> str:
    """The start of a request's last user text, to show the sequence a test saw."""
    last = next((m for m in reversed(body["messages"]) if m["role"] == "user"), {})
    content = last.get("content")
    text = (
        content
        if isinstance(content, str)
        else " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    )
    return text.strip()[:70]
