"""``ob1gw serve`` as a newcomer starts it: what it says at start names the upstream credential in use, an
upstream that cannot be reached (with the URL and the setting), and a port already taken (one clear line)."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from ob1_gateway.cli.serve_command import upstream_unreachable
from ob1_gateway.settings import load_settings

from tests.fixtures.gateway import free_port, wait_until_healthy


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
    closed = free_port()  # nothing listens there
    proc = _serve(
        tmp_path / "home",
        free_port(),
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


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_serves_https_and_plain_http_off_loopback_is_warned(tmp_path: Path, fake_ob1: Any) -> None:
    import httpx

    cert, key = _self_signed(tmp_path)
    port = free_port()
    env = {"OB1GW_UPSTREAM_URL": fake_ob1.env()["OB1GW_UPSTREAM_URL"]}
    command = [sys.executable, "-m", "ob1_gateway.cli", "serve", "--port", str(port)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OB1GW_")}
    environment |= {"OB1GW_HOME": str(tmp_path / "home"), "OB1GW_BACKEND": "local", **env}
    proc = subprocess.Popen(
        [*command, "--tls-cert", str(cert), "--tls-key", str(key)],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        said = _first_lines(proc, "ob1-gateway on")
        assert f"ob1-gateway on https://127.0.0.1:{port}" in said, said
        deadline = time.monotonic() + 20
        while True:
            try:
                trust = ssl.create_default_context(cafile=str(cert))
                health = httpx.get(f"https://127.0.0.1:{port}/health", verify=trust, timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert health.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    off_loopback = subprocess.Popen(
        [*command[:-2], "--host", "0.0.0.0", "--port", str(free_port())],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        warned = _first_lines(off_loopback, "ob1-gateway on")
    finally:
        off_loopback.terminate()
        off_loopback.wait(timeout=10)
    assert "serving plain HTTP on 0.0.0.0: keys cross the network in the clear" in warned, warned
    half = subprocess.run([*command, "--tls-cert", str(cert)], env=environment, capture_output=True, text=True)
    assert half.returncode == 2 and "give both --tls-cert and --tls-key" in half.stdout + half.stderr


def test_demo_answers_real_sdk_calls_labelled_and_free(tmp_path: Path) -> None:
    """``ob1gw serve --demo``: no OB-1 account, and the SDKs get answers in the first minute; every answer (and
    the banner) says it is a stand-in; nothing is billed; a key is still needed (the gateway is the real one)."""
    import anthropic
    import openai
    from ob1_gateway.hosting.demo_upstream import DEMO_MARK

    home, port = tmp_path / "home", free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OB1GW_")}
    environment |= {"OB1GW_HOME": str(home), "OB1GW_BACKEND": "local"}
    cli = [sys.executable, "-m", "ob1_gateway.cli"]
    created = subprocess.run([*cli, "keys", "create", "me", "--json"], env=environment, capture_output=True, text=True)
    key = json.loads(created.stdout)["key"]
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--demo"],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        said = _first_lines(proc, "ob1-gateway DEMO on")
        assert "not a model" in said and "no OB-1 login" not in said, said
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, proc)
        claude = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)
        message = claude.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.content[0].text == f"{DEMO_MARK} You said: hi"  # type: ignore[union-attr]
        gpt = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
        yo = [{"role": "user", "content": "yo"}]
        streamed = "".join(
            c.choices[0].delta.content or ""
            for c in gpt.chat.completions.create(
                model="gpt-4o-mini",
                messages=yo,
                stream=True,  # type: ignore[arg-type]
            )
            if c.choices
        )
        assert streamed == f"{DEMO_MARK} You said: yo"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=base + "/v1", api_key="nope", max_retries=0).models.list()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    usage = subprocess.run([*cli, "usage", "--json"], env=environment, capture_output=True, text=True)
    rows = json.loads(usage.stdout)
    assert sum(r["requests"] for r in rows) == 2 and sum(r["cost_usd"] for r in rows) == 0
