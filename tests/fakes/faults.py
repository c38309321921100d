"""Fault scripts for the fake OB-1, TCP helpers for unreachable upstreams, and a gateway builder with
custom settings — the building blocks of ``tests/integration/test_faults*.py``.

Scripts use the item language of ``tests/fakes/scripts.py``; two whole-response forms are added by the
fake for these tests: ``slow_first_byte`` (the fake waits before sending response headers) and the
``AUTH_ECHO`` placeholder (replaced by the request's ``Authorization`` header, like an upstream that
echoes credentials back in its error text).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from ob1_gateway.access.keys import issue_key
from ob1_gateway.app import create_app
from ob1_gateway.stores.backends import build_backends
from ob1_gateway.stores.base import OB1Token
from ob1_gateway.translate.sse import SSEDecoder

from tests.fakes import scripts as S
from tests.fakes.ob1_fake import AUTH_ECHO
from tests.fixtures.gateway import GatewayHandle, UvicornThread, free_port, gateway_settings

__all__ = [
    "AUTH_ECHO",
    "DelayedListener",
    "closed_port",
    "cut_body",
    "echo_auth_error",
    "echo_auth_mid_stream",
    "error_finish_reason",
    "garbage_data_line",
    "idle_stall",
    "no_finish_reason",
    "non_sse_noise",
    "read_sse",
    "reset_after",
    "slow_first_byte",
    "start_gateway",
    "truncated_tool_arguments",
]

PARTIAL = "partial answer "


# ---- scripts ---------------------------------------------------------------------------------------
def slow_first_byte(seconds: float, then: Any | None = None) -> dict[str, Any]:
    """Hold the response headers for ``seconds``, then answer with ``then`` (a text stream by default)."""
    return {"_fake": "delay", "seconds": seconds, "then": then if then is not None else S.text_stream()}


def _partial(n: int) -> list[Any]:
    return [S.PROCESSING, S.role_chunk(), *[S.chunk({"role": "assistant", "content": PARTIAL}) for _ in range(n)]]


def reset_after(n: int = 3) -> list[Any]:
    """``n`` text chunks, then the connection drops (no finish reason, no [DONE])."""
    return [*_partial(n), S.disconnect()]


def cut_body() -> list[Any]:
    """A 200 whose body stops mid-JSON and whose connection then drops: the upstream answered (and
    charged), the gateway never got the whole answer."""
    return ['{"id": "gen-cut", "object": "chat.completion", "choices": [{"message": {"content": "par', S.disconnect()]


def garbage_data_line(n: int = 2) -> list[Any]:
    """``n`` text chunks, then a ``data:`` line that is not JSON."""
    return [*_partial(n), 'data: {"id": "gen-x", "choices": [{"delta": {"content": "tr', *_tail()]


def non_sse_noise() -> list[Any]:
    """A complete text stream with lines that are not SSE fields (ignored by the SSE rules)."""
    stream = S.text_stream("noise is ignored")
    return [stream[0], "this line is not SSE at all", "<html>oops</html>", *stream[1:]]


def idle_stall(seconds: float, n: int = 2) -> list[Any]:
    """``n`` text chunks, then ``seconds`` of silence (no keep-alive comments), then the rest."""
    return [*_partial(n), seconds, *_tail()]


def no_finish_reason(n: int = 2, *, done: bool = True) -> list[Any]:
    """Text chunks and usage, but no chunk ever carries a finish_reason; ends with [DONE] or plain EOF."""
    return [*_partial(n), S.usage_chunk(), *([S.DONE] if done else [])]


def error_finish_reason(n: int = 2) -> list[Any]:
    """OpenRouter's bare ``finish_reason: "error"`` (no error object)."""
    return [*_partial(n), S.chunk({"role": "assistant", "content": ""}, finish_reason="error"), S.DONE]


def truncated_tool_arguments() -> list[Any]:
    """A tool call whose arguments stop mid-JSON, yet the stream finishes with ``tool_calls`` and usage."""
    return [
        S.PROCESSING,
        S.role_chunk(),
        S.chunk(S._tool_delta(0, id="toolu_fake_trunc", name="get_weather")),
        S.chunk(S._tool_delta(0, args='{"city": ')),
        S.chunk(S._tool_delta(0, args='"Par')),
        S.chunk({"role": "assistant", "content": ""}, finish_reason="tool_calls", native_finish_reason="tool_use"),
        S.usage_chunk(prompt_tokens=33, completion_tokens=7, cost=0.0002),
        S.DONE,
    ]


def echo_auth_error(status: int = 400) -> dict[str, Any]:
    """An error before the first byte whose message quotes the Authorization header the fake received."""
    return S.http_error(status, f"invalid credentials: {AUTH_ECHO} (header was Authorization: {AUTH_ECHO})")


def echo_auth_mid_stream(n: int = 1) -> list[Any]:
    """An in-stream error object quoting the Authorization header."""
    return [*_partial(n), {"error": {"message": f"provider rejected {AUTH_ECHO}", "code": 502}}, S.DONE]


def _tail() -> list[Any]:
    return [
        S.chunk({"role": "assistant", "content": ""}, finish_reason="stop", native_finish_reason="end_turn"),
        S.usage_chunk(),
        S.DONE,
    ]


# ---- TCP -------------------------------------------------------------------------------------------
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    return free_port()


class DelayedListener:
    """Refuse connections on ``port`` until ``after`` seconds have passed, then forward to ``target``."""

    def __init__(self, target_port: int, *, after: float, port: int | None = None) -> None:
        self.port = port or free_port()
        self.target_port = target_port
        self.after = after
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> DelayedListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        if self._stop.wait(self.after):
            return
        with socket.socket() as server:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", self.port))
            server.listen(16)
            server.settimeout(0.05)
            while not self._stop.is_set():
                try:
                    client, _ = server.accept()
                except TimeoutError:
                    continue
                self.accepted += 1
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


# ---- gateway ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def start_gateway(
    home: Path, fake: Any, *, upstream_url: str | None = None, wrap: Any = None, **overrides: Any
) -> Iterator[GatewayHandle]:
    """Like the ``gateway`` fixture, with settings overrides (e.g. ``max_retries=2``); ``upstream_url``
    points the chat/model calls elsewhere (the login still comes from ``fake``); ``wrap`` puts an ASGI
    middleware between uvicorn and the app (a transport fault uvicorn cannot be made to show)."""
    settings = gateway_settings(home, fake, **overrides)
    if upstream_url is not None:
        settings = settings.model_copy(update={"upstream_url": upstream_url})
    backends = build_backends(settings)
    backends.token_store.save(OB1Token.from_dict(fake.issue_login()))
    record, key = issue_key("faults")
    backends.key_store.put(record)
    app = create_app(settings, backends)
    with UvicornThread(wrap(app) if wrap is not None else app) as server:
        yield GatewayHandle(f"http://127.0.0.1:{server.port}", key, record.key_id, settings, backends)


# ---- reading -----------------------------------------------------------------------------------------
def read_sse(response: httpx.Response) -> list[tuple[str | None, Any]]:
    """Every SSE event of a streamed response as (event name, parsed data); reading must end cleanly."""
    decoder = SSEDecoder()
    events = []
    for raw in response.iter_raw():
        events += decoder.feed(raw)
    events += decoder.flush()
    out: list[tuple[str | None, Any]] = []
    for event in events:
        try:
            data: Any = json.loads(event.data)
        except ValueError:
            data = event.data
        out.append((event.event, data))
    return out


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
