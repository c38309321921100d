"""``ob1gw serve`` as a newcomer starts it: what it says at start names the upstream credential in use, an
upstream that cannot be reached (with the URL and the setting), and a port already taken (one clear line)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ob1_gateway.cli.serve_command import upstream_unreachable
from ob1_gateway.settings import load_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(home: Path, port: int, **env: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OB1GW_")}
    environment |= {"OB1GW_HOME": str(home), "OB1GW_BACKEND": "local", **env}
    command = [sys.executable, "-m", "ob1_gateway.cli", "serve", "--port", str(port)]
    return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _first_lines(proc: subprocess.Popen[str], until: str, timeout: float = 20.0) -> str:
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while until not in seen and time.monotonic() < deadline and proc.poll() is None:
        seen += proc.stdout.readline()
    return seen


def test_an_unreachable_upstream_is_named_at_start_and_the_static_key_in_the_banner(tmp_path: Path) -> None:
    closed = _free_port()  # nothing listens there
    proc = _serve(
        tmp_path / "home",
        _free_port(),
        OB1GW_UPSTREAM_URL=f"http://127.0.0.1:{closed}/api/v1",
        OB1GW_UPSTREAM_API_KEY="sk-static-key-for-tests",
    )
    try:
        said = _first_lines(proc, "ob1-gateway on")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert f"the upstream http://127.0.0.1:{closed}/api/v1 (OB1GW_UPSTREAM_URL) cannot be reached" in said, said
    assert "with a static key (OB1GW_UPSTREAM_API_KEY)" in said
    assert "sk-static-key-for-tests" not in said


def test_a_reachable_upstream_is_not_a_warning_even_when_it_refuses(tmp_path: Path, fake_ob1: Any) -> None:
    settings = load_settings(home=tmp_path, upstream_url=fake_ob1.env()["OB1GW_UPSTREAM_URL"])
    assert upstream_unreachable(settings) == []  # its /models answered (401 without a credential): reachable


def test_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve(tmp_path / "home", port)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert output.strip().splitlines()[-1].startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "--port" in output and "ob1-gateway on" not in output and "Traceback" not in output
