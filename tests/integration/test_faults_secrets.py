"""Upstream error text is forwarded only after stripping credentials: a fake that echoes the
Authorization header, or the bare credential, back in its error bodies — before the first byte, in a
200 body and inside a stream — for the OB-1 login (a JWT) and for a static upstream key that matches
no secret-looking pattern (so only the client's exact-credential scrub can catch it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import faults as F
from tests.fakes import scripts as S
from tests.fakes.ob1_fake import TOKEN_ECHO
from tests.fixtures.gateway import GatewayHandle

STATIC_KEY = "plain-upstream-credential-4f1c9a"

ECHOES = {
    "header-before-first-byte": F.echo_auth_error(400),
    "token-before-first-byte": S.http_error(400, f"token {TOKEN_ECHO} is not allowed here"),
    "token-in-200-body": {"error": {"message": f"rejected {TOKEN_ECHO}", "code": 403}},
    "header-mid-stream": F.echo_auth_mid_stream(),
    "token-mid-stream": [*F.reset_after(1)[:-1], {"error": {"message": f"bad {TOKEN_ECHO}", "code": 401}}],
}


@pytest.fixture(params=["ob1-login", "static-key"])
def gw(request: pytest.FixtureRequest, tmp_path: Path, fake_ob1: Any) -> Iterator[tuple[GatewayHandle, str]]:
    if request.param == "static-key":
        fake_ob1.add_api_key(STATIC_KEY)
        with F.start_gateway(tmp_path / "home", fake_ob1, upstream_api_key=STATIC_KEY, max_retries=0) as handle:
            yield handle, STATIC_KEY
    else:
        with F.start_gateway(tmp_path / "home", fake_ob1, max_retries=0) as handle:
            token = handle.backends.token_store.load()
            assert token is not None
            yield handle, token.access_token


@pytest.mark.parametrize("api", ["anthropic", "openai"])
@pytest.mark.parametrize("case", list(ECHOES))
def test_echoed_credentials_never_reach_the_client(
    gw: tuple[GatewayHandle, str], fake_ob1: Any, api: str, case: str
) -> None:
    handle, credential = gw
    script = ECHOES[case]
    fake_ob1.enqueue(script)
    stream = isinstance(script, list)
    if api == "anthropic":
        path, headers = "/v1/messages", {"x-api-key": handle.key}
        body = {"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}
    else:
        path, headers = "/v1/chat/completions", {"authorization": f"Bearer {handle.key}"}
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
    response = httpx.post(handle.base_url + path, json={**body, "stream": stream}, headers=headers, timeout=30)
    assert fake_ob1.chat_requests[-1]["scripted"]
    text = f"{response.headers} {response.text}"
    assert credential not in text
    assert "[redacted]" in text, "the echoed credential was replaced, the rest of the message kept"
    assert response.status_code >= 400 or "error" in response.text
