"""The README is a short front page whose commands work: its code blocks run here, offline, in order (the demo
server stands in for OB-1; only `ob1gw login` and `token import`, which need OB-1 itself, are skipped); and every
link of the README and docs/ leads to a file and a heading that exist."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.fixtures.gateway import free_port, wait_until_healthy

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
_BLOCK = re.compile(r"```(bash|python)\n(.*?)```", re.S)
_LINK = re.compile(r"\]\(([^)#\s]+)?(?:#([^)\s]+))?\)")
NEED_OB1 = ("ob1gw login", "ob1gw token import")  # a browser confirmation, an OB-1 CLI file


def test_the_front_page_is_short_and_starts_with_the_two_commands() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[:2] == ["The two commands", "The first five minutes"]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_leads_somewhere() -> None:
    broken = []
    for page in [README, *DOCS]:
        for target, anchor in _LINK.findall(page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path = (page.parent / target).resolve() if target else page
            if not path.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and anchor not in {_slug(h) for h in re.findall(r"^#+ (.+)$", path.read_text(), re.M)}:
                broken.append(f"{page.name}: {target}#{anchor}")
    assert broken == []


def test_the_readmes_commands_run(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OB1GW_")}
    env |= {"OB1GW_HOME": str(tmp_path / "home"), "OB1GW_BACKEND": "local", "HOME": str(tmp_path)}
    port = free_port()
    cli = [sys.executable, "-m", "ob1_gateway.cli"]
    key, ran, demo = "", [], None
    try:
        for language, block in _BLOCK.findall(README.read_text()):
            if language == "python":
                code = block.replace("http://127.0.0.1:8787", f"http://127.0.0.1:{port}").replace("ob1gw_…", key)
                result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
                assert result.returncode == 0, result.stderr[-2000:]
                ran.append("python block")
                continue
            for line in block.splitlines():
                command = line.split("#", 1)[0].strip().replace("ob1gw_…", key).replace("sk-…", "sk-docs-test")
                if command in ("", "make serve", "make test") or any(n in command for n in NEED_OB1):
                    continue  # the two commands install and block: tests/unit/test_two_commands.py
                if command == "make serve SERVE_ARGS=--demo":
                    demo = subprocess.Popen(
                        [*cli, "serve", "--demo", "--port", str(port)],
                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                    wait_until_healthy(f"http://127.0.0.1:{port}", demo)
                    ran.append(command)
                    continue
                if command.endswith(" make serve"):  # settings for a gateway that blocks: they must load
                    assigned = dict(word.split("=", 1) for word in shlex.split(command)[:-2])
                    loads = "from ob1_gateway.settings import load_settings; load_settings()"
                    checked = subprocess.run(
                        [sys.executable, "-c", loads], env={**env, **assigned}, capture_output=True
                    )
                    assert checked.returncode == 0, (command, checked.stderr[-1000:])
                    ran.append(command)
                    continue
                if command.startswith("export "):
                    name, _, value = command.removeprefix("export ").partition("=")
                    env[name] = value
                    continue
                argv = shlex.split(command)
                assert argv[0] == ".venv/bin/ob1gw", command
                result = subprocess.run([*cli, *argv[1:]], env=env, capture_output=True, text=True, timeout=60)
                assert result.returncode == 0, (command, result.stdout[-1000:], result.stderr[-1000:])
                found = re.search(r"\b(ob1gw_[A-Za-z0-9_-]+)", result.stdout)
                if "keys create me" in command and found:
                    key = found.group(1)
                ran.append(command)
    finally:
        if demo is not None:
            demo.terminate()
            demo.wait(timeout=10)
    assert key and "python block" in ran and "make serve SERVE_ARGS=--demo" in ran
    assert any("setup claude-code" in c for c in ran) and any("usage --by session" in c for c in ran)
    assert any(c.startswith("OB1GW_WEB_SEARCH=tavily") for c in ran), "the web search settings were checked"
