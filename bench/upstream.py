"""A lean OpenAI-compatible upstream with zero think time, for the benchmark only.

Raw asyncio (uvloop when installed), HTTP/1.1 keep-alive, ``TCP_NODELAY`` on every connection (
without it delayed ACKs add ~40 ms per request). Answers instantly with fixed bodies and fixed usage:

- ``GET  <any>/models``            → one model, ``bench-model``
- ``POST <any>/chat/completions``  → a chat.completion, or (``"stream": true``) a realistic chunk stream
  ending in a usage-only chunk and ``data: [DONE]``
- anything else → 404 (so a client that calls ``/responses`` is caught, not silently measured)

Requests must carry ``Authorization: Bearer <key>`` (a static key, like OB1GW_UPSTREAM_API_KEY).
``--delay S`` holds every chat answer S seconds (a model's think time; ``bench.sustained`` uses 1.5 s).

Run: ``python -m bench.upstream --port 0 --key KEY`` (prints ``PORT <n>`` once listening).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from typing import Any

MODEL = "bench-model"
CREATED = 1_700_000_000
USAGE = {
    "prompt_tokens": 42,
    "completion_tokens": 24,
    "total_tokens": 66,
    "prompt_tokens_details": {"cached_tokens": 0},
    "cost": 0.00042,
}
TEXT_PIECES = [
    "Hello",
    "!",
    " This",
    " is",
    " a",
    " fixed",
    " reply",
    " from",
    " the",
    " bench",
    " upstream",
    ",",
    " with",
    " zero",
    " think",
    " time",
    ".",
]


def models_body() -> bytes:
    return json.dumps(
        {
            "object": "list",
            "data": [
                {
                    "id": MODEL,
                    "name": "Bench Model",
                    "created": CREATED,
                    "object": "model",
                    "owned_by": "bench",
                    "context_length": 200000,
                    "pricing": {"prompt": "0.000003", "completion": "0.000015"},
                },
            ],
        }
    ).encode()


def completion_body() -> bytes:
    return json.dumps(
        {
            "id": "gen-bench-1",
            "object": "chat.completion",
            "created": CREATED,
            "model": MODEL,
            "provider": "Bench",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "native_finish_reason": "end_turn",
                    "message": {"role": "assistant", "content": "".join(TEXT_PIECES)},
                }
            ],
            "usage": USAGE,
        },
        separators=(",", ":"),
    ).encode()


def stream_chunks() -> list[dict]:
    base = {
        "id": "gen-bench-1",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "provider": "Bench",
    }
    chunks = [
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": ""},
                    "finish_reason": None,
                    "native_finish_reason": None,
                }
            ],
        }
    ]
    for piece in TEXT_PIECES:
        chunks.append(
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": piece},
                        "finish_reason": None,
                        "native_finish_reason": None,
                    }
                ],
            }
        )
    chunks.append(
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": ""},
                    "finish_reason": "stop",
                    "native_finish_reason": "end_turn",
                }
            ],
        }
    )
    chunks.append({**base, "choices": [], "usage": USAGE})
    return chunks


def stream_body() -> bytes:
    """The whole SSE stream as HTTP/1.1 chunked encoding, one HTTP chunk per SSE event."""
    events = [b": OPENROUTER PROCESSING\n\n"]
    events += [b"data: " + json.dumps(c, separators=(",", ":")).encode() + b"\n\n" for c in stream_chunks()]
    events.append(b"data: [DONE]\n\n")
    out = bytearray()
    for event in events:
        out += b"%x\r\n%s\r\n" % (len(event), event)
    out += b"0\r\n\r\n"
    return bytes(out)


def _response(status: str, content_type: str, body: bytes) -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    ).encode() + body


class Upstream(asyncio.Protocol):
    def __init__(self, key: str, delay: float = 0.0) -> None:
        self.delay = delay  # think time before each answer (the published gateway benchmarks use 1.5 s)
        self.auth = f"bearer {key}".encode()
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.models = _response("200 OK", "application/json", models_body())
        self.completion = _response("200 OK", "application/json", completion_body())
        self.stream = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n" + stream_body()
        )
        self.unauthorized = _response(
            "401 Unauthorized", "application/json", b'{"error":{"message":"bad key","code":401}}'
        )
        self.not_found = _response("404 Not Found", "application/json", b'{"error":{"message":"not found","code":404}}')

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].split(b"\r\n")
            length = 0
            authorized = False
            for line in head[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"authorization":
                    authorized = value.strip().lower() == self.auth
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            method, path = head[0].split(b" ")[:2]
            answer = self._answer(method, path.split(b"?")[0], body, authorized)
            if self.delay and method == b"POST":
                asyncio.get_running_loop().call_later(self.delay, self._write, answer)
            else:
                self._write(answer)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _answer(self, method: bytes, path: bytes, body: bytes, authorized: bool) -> bytes:
        if not authorized:
            return self.unauthorized
        if method == b"GET" and path.endswith(b"/models"):
            return self.models
        if method == b"POST" and path.endswith(b"/chat/completions"):
            try:
                stream = bool(json.loads(body).get("stream"))
            except ValueError:
                return _response("400 Bad Request", "application/json", b'{"error":{"message":"bad json"}}')
            return self.stream if stream else self.completion
        return self.not_found


async def serve(port: int, key: str, delay: float = 0.0) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Upstream(key, delay), "127.0.0.1", port, backlog=4096)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each chat answer")
    args = parser.parse_args()
    try:
        run_fast(serve(args.port, args.key, args.delay))
    except KeyboardInterrupt:
        sys.exit(0)


def run_fast(coro: Any) -> Any:
    """``asyncio.run`` on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


if __name__ == "__main__":
    main()
