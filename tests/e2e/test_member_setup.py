"""What a member needs on their own machine: ``ob1gw setup <tool>`` prints the settings, and each tool run with
exactly what it printed talks to the gateway (Claude Code, Codex CLI, opencode, the SDKs); ``ob1gw statusline``
shows the key's spend in Claude Code's status line."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ob1_gateway.cli import app
from typer.testing import CliRunner

from tests.fixtures.gateway import GatewayHandle

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
# Offline, as the other e2e tests run the clients (IS_SANDBOX: these machines run tests as root).
OFFLINE = {
    "DISABLE_TELEMETRY": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "IS_SANDBOX": "1",
}


def printed(tool: str, gw: GatewayHandle, key: str | None = None) -> str:
    result = CliRunner().invoke(app, ["setup", tool, "--key", key or gw.key, "--url", gw.base_url])
    assert result.exit_code == 0, result.output
    return result.output


def exports(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = shlex.split(value)[0]
    return found


def section(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def binary(name: str) -> str:
    local = REPO / "node_modules" / ".bin" / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"CI must install {name} (npm install)")
        pytest.skip(f"{name} not installed (npm install)")
    return found


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd.parent / "home"), **OFFLINE}
    (cwd.parent / "home").mkdir(exist_ok=True)
    result = subprocess.run(
        command, cwd=cwd, env={**base, **env}, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, f"{command[0]} failed: {result.stdout[-2000:]} {result.stderr[-2000:]}"
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    return work


def test_claude_code_with_what_setup_printed(gateway: GatewayHandle, project: Path) -> None:
    said = printed("claude-code", gateway)
    env = exports(said)
    assert env["ANTHROPIC_AUTH_TOKEN"] == gateway.key and env["ANTHROPIC_BASE_URL"] == gateway.base_url
    settings = json.loads(said[said.index("{") :])
    assert settings["env"] == env and settings["statusLine"]["command"] == "ob1gw statusline"
    result = run([binary("claude"), "-p", "say hello", "--dangerously-skip-permissions"], env, project)
    assert "Echo:" in result.stdout and "say hello" in result.stdout


def test_codex_with_what_setup_printed(gateway: GatewayHandle, project: Path) -> None:
    said = printed("codex", gateway)
    codex_home = project.parent / "codex-home"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(section(said, "config.toml\n", "\n# and in your shell"))
    env = {**exports(said), "CODEX_HOME": str(codex_home)}
    command = [binary("codex"), "exec", "--skip-git-repo-check", "-C", str(project), "say hello"]
    result = run(command, env, project)
    assert "Echo: say hello" in result.stdout


def test_opencode_with_what_setup_printed(gateway: GatewayHandle, project: Path) -> None:
    said = printed("opencode", gateway)
    config = json.loads(section(said, "~/.config/opencode/)\n", "\n# and in your shell"))
    (project / "opencode.json").write_text(json.dumps(config))
    result = run([binary("opencode"), "run", "say hello"], exports(said), project)
    assert "Echo:" in result.stdout and "say hello" in result.stdout


def test_the_sdks_with_what_setup_printed(gateway: GatewayHandle, project: Path) -> None:
    script = (
        "import anthropic, openai\n"
        "a = anthropic.Anthropic().messages.create(model='claude-sonnet-4-5', max_tokens=16,"
        " messages=[{'role': 'user', 'content': 'one'}])\n"
        "o = openai.OpenAI().chat.completions.create(model='gpt-4o-mini',"
        " messages=[{'role': 'user', 'content': 'two'}])\n"
        "print(a.content[0].text, '|', o.choices[0].message.content)\n"
    )
    result = run([sys.executable, "-c", script], exports(printed("env", gateway)), project)
    assert "Echo: one | Echo: two" in result.stdout


def _statusline(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ob1_gateway.cli", "statusline"],
        input=json.dumps({"session_id": "s", "model": {"id": "claude-opus-5-5"}}),
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout.strip()


def test_the_status_line_shows_this_months_spend_against_the_budget(gateway: GatewayHandle, fake_ob1: Any) -> None:
    env = exports(printed("claude-code", gateway))
    assert _statusline(env) == "ob1 · $0.00 this month"
    budgeted_id, budgeted = gateway.new_key("budgeted")
    assert gateway.backends.key_store.set_budget(budgeted_id, 2.0)
    from ob1_gateway.stores.base import UsageRecord

    gateway.backends.usage_store.record(
        UsageRecord("spent-1", budgeted_id, "m/a", "/v1/messages", False, 200, cost_micros=500_000)
    )
    assert _statusline(exports(printed("claude-code", gateway, budgeted))) == "ob1 · $0.50 of $2.00 this month (25%)"
    assert _statusline({**env, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}) == "ob1 · usage unavailable"
