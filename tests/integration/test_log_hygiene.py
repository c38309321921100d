"""Log hygiene: a representative slice of integration flows with everything at DEBUG — the
root logger, uvicorn's own loggers (which uvicorn configures with its own handlers, after the app is
built), httpx and httpcore — and no token (access, refresh, the ``Bearer <access>:<org>`` header) or
caller key may appear in any captured output: log records, stdout/stderr, response bodies or headers.

The flows include an upstream that echoes the Authorization header back (before the first byte, inside
a stream and in a 200 body), a token refresh (so rotated tokens are covered), wrong, malformed and
revoked caller keys, a mid-stream reset and a dead login.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from ob1_gateway.access.keys import issue_key
from ob1_gateway.app import create_app
from ob1_gateway.settings import load_settings
from ob1_gateway.stores.backends import build_backends
from ob1_gateway.stores.base import OB1Token

from tests.fakes import faults as F
from tests.fixtures.gateway import free_port

LOGGERS = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "ob1_gateway", "asyncio"]


class Captured:
    def __init__(self) -> None:
        self.logs = io.StringIO()
        self.responses: list[str] = []

    def record(self, response: httpx.Response) -> httpx.Response:
        response.read()
        self.responses.append(f"{response.status_code} {dict(response.headers)} {response.text}")
        return response


@pytest.fixture
def debug_logging() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).propagate) for name in LOGGERS}
    try:
        yield stream
    finally:
        for name, (level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.propagate = propagate
            if handler in logger.handlers:
                logger.removeHandler(handler)
    # the handler is attached by attach() once uvicorn has configured its loggers


def attach(stream: io.StringIO) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)


def test_no_secret_reaches_any_output_at_debug(
    tmp_path: Path,
    fake_ob1: Any,
    debug_logging: io.StringIO,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OB1GW_LOG_LEVEL", "DEBUG")
    settings = load_settings(
        home=tmp_path / "home",
        upstream_url=fake_ob1.upstream_url,
        auth_url=fake_ob1.auth_url,
        key_cache_ttl_seconds=0,
        retry_backoff_seconds=0.01,
        stream_idle_timeout=1.0,
    )
    assert settings.log_level == "DEBUG"
    backends = build_backends(settings)
    login = fake_ob1.issue_login()
    backends.token_store.save(OB1Token.from_dict(login))
    record, key = issue_key("hygiene")
    backends.key_store.put(record)
    revoked_record, revoked_key = issue_key("revoked")
    backends.key_store.put(revoked_record)
    wrong_key = key[:-6] + "ZZZZZZ"

    port = free_port()
    config = uvicorn.Config(create_app(settings, backends), host="127.0.0.1", port=port, log_level="debug")
    server = uvicorn.Server(config)
    attach(debug_logging)  # after uvicorn.Config has configured its loggers
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.01)

    out = Captured()
    base = f"http://127.0.0.1:{port}"
    a_head = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    o_head = {"authorization": f"Bearer {key}"}
    a_body = {"model": "claude-sonnet-4-5", "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}
    o_body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    try:
        with httpx.Client(base_url=base, timeout=30) as client:

            def call(path: str, body: Any, headers: dict[str, str], method: str = "POST") -> httpx.Response:
                with client.stream(method, path, json=body, headers=headers) as response:
                    return out.record(response)

            # ordinary traffic, both APIs, stream and not
            for stream in (False, True):
                assert call("/v1/messages", {**a_body, "stream": stream}, a_head).status_code == 200
                assert call("/v1/chat/completions", {**o_body, "stream": stream}, o_head).status_code == 200
            assert call("/v1/messages/count_tokens", a_body, a_head).status_code == 200
            assert call("/v1/models", None, o_head, "GET").status_code == 200

            # the access token is rejected: one refresh (rotating the refresh token), one retry
            fake_ob1.expire_all_tokens()
            assert call("/v1/messages", a_body, a_head).status_code == 200
            assert fake_ob1.refresh_calls == 1

            # upstreams that echo the Authorization header back
            fake_ob1.enqueue(F.echo_auth_error(400))
            echoed = call("/v1/messages", a_body, a_head)
            assert echoed.status_code == 400 and "[redacted]" in echoed.text
            fake_ob1.enqueue(F.echo_auth_error(500), F.echo_auth_error(500), F.echo_auth_error(500))
            assert call("/v1/chat/completions", o_body, o_head).status_code == 500
            fake_ob1.enqueue(F.echo_auth_mid_stream())
            assert "[redacted]" in call("/v1/messages", {**a_body, "stream": True}, a_head).text
            fake_ob1.enqueue(F.echo_auth_mid_stream())
            assert "[redacted]" in call("/v1/chat/completions", {**o_body, "stream": True}, o_head).text
            fake_ob1.enqueue({"error": {"message": f"denied for {F.AUTH_ECHO}", "code": 403}})
            assert call("/v1/chat/completions", o_body, o_head).status_code == 403

            # mid-stream faults
            fake_ob1.enqueue(F.reset_after(2))
            call("/v1/messages", {**a_body, "stream": True}, a_head)
            fake_ob1.enqueue(F.garbage_data_line(1))
            call("/v1/chat/completions", {**o_body, "stream": True}, o_head)

            # caller keys: wrong secret, malformed, missing, revoked
            assert call("/v1/messages", a_body, {**a_head, "x-api-key": wrong_key}).status_code == 401
            assert call("/v1/chat/completions", o_body, {"authorization": f"Bearer {wrong_key}"}).status_code == 401
            assert call("/v1/messages", a_body, {"x-api-key": "sk-not-ours-0123456789abcdef"}).status_code == 401
            assert call("/v1/messages", a_body, {}).status_code == 401
            backends.key_store.set_disabled(revoked_record.key_id, True)
            assert call("/v1/messages", a_body, {**a_head, "x-api-key": revoked_key}).status_code == 403

            # a dead login: the refresh token is revoked and the access token expired
            fake_ob1.revoke_refresh_tokens()
            fake_ob1.expire_all_tokens()
            assert call("/v1/messages", a_body, a_head).status_code in (401, 502, 503)
    finally:
        server.should_exit = True
        thread.join(timeout=20)

    current = backends.token_store.load()
    assert current is not None and current.access_token != login["access_token"]
    secrets = {
        "access token": login["access_token"],
        "refresh token": login["refresh_token"],
        "refreshed access token": current.access_token,
        "rotated refresh token": current.refresh_token,
        "upstream Authorization header": f"Bearer {login['access_token']}:{login['organization_id']}",
        "caller key": key,
        "caller key secret": key.rsplit("_", 1)[1],
        "wrong caller key": wrong_key,
        "revoked caller key": revoked_key,
    }
    stdio = capfd.readouterr()
    outputs = {
        "logs": debug_logging.getvalue(),
        "stdout": stdio.out,
        "stderr": stdio.err,
        "responses": "\n".join(out.responses),
    }
    # The capture really saw DEBUG traffic from every layer.
    logs = outputs["logs"]
    assert "DEBUG" in logs and "httpcore" in logs and "HTTP Request" in logs
    assert "refreshed the OB-1 token" in logs
    assert "failed before the first byte" in logs  # the retried 500s were logged
    leaks = [
        f"{what} in {where}" for what, secret in secrets.items() for where, text in outputs.items() if secret in text
    ]
    assert not leaks, leaks
    print(f"\nlog hygiene: {len(logs.splitlines())} log lines, {len(out.responses)} responses, 0 secrets")
    json.dumps(outputs)  # everything captured is text
