"""RequestLog is also the last resort: an exception that escaped every handler becomes a 500 in the calling
API's shape (with its request id, logged once), or a response cut short if it had already started."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from ob1_gateway.api.errors import install_error_handlers
from ob1_gateway.api.request_log import RequestLog


def _app(seen: list[Any]) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestLog, listeners=[seen.append])

    @app.post("/v1/messages")
    @app.post("/v1/responses")
    async def crash() -> None:
        raise KeyError("a gateway bug")

    @app.post("/v1/chat/completions")
    async def crash_mid_stream() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"data: {}\n\n"
            raise KeyError("a gateway bug")

        return StreamingResponse(body(), media_type="text/event-stream")

    return app


def _post(app: FastAPI, path: str) -> httpx.Response:
    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.post(path, json={})

    return asyncio.run(post())


@pytest.mark.parametrize(("path", "shape"), [("/v1/messages", "anthropic"), ("/v1/responses", "openai")])
def test_an_unhandled_exception_is_a_500_in_the_apis_shape(
    caplog: pytest.LogCaptureFixture, path: str, shape: str
) -> None:
    seen: list[Any] = []
    app = _app(seen)
    with caplog.at_level(logging.ERROR, logger="ob1_gateway.errors"):
        response = _post(app, path)
    assert response.status_code == 500
    body = response.json()
    if shape == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == "api_error"
    else:
        assert body["error"]["message"] == "internal gateway error"
    assert response.headers["request-id"] == response.headers["x-request-id"]
    assert [r.getMessage() for r in caplog.records] == [f"unhandled KeyError on POST {path}"]
    assert [(s.status, s.reason) for s in seen] == [(500, "internal gateway error")]


def test_an_exception_after_the_response_started_cuts_it_short(caplog: pytest.LogCaptureFixture) -> None:
    """Driven as the server drives it (the ASGI messages recorded): what was sent stays sent, and no
    second response start follows it."""
    sent: list[dict[str, Any]] = []
    requested = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive() -> dict[str, Any]:
        return requested.pop() if requested else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "server": ("127.0.0.1", 80),
    }
    with caplog.at_level(logging.ERROR, logger="ob1_gateway.errors"):
        asyncio.run(_app([])(scope, receive, send))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [200]
    assert next(m.get("body") for m in sent if m["type"] == "http.response.body") == b"data: {}\n\n"
    assert [r.getMessage() for r in caplog.records] == ["unhandled KeyError on POST /v1/chat/completions"]
