"""Upstream bodies that end badly, from a raw server on 127.0.0.1.

- A stream whose connection breaks right after its last chunks: the upstream writes two text chunks and
  the usage chunk, then closes before the end of the chunked body, in one go. aiohttp would raise at
  the next read and drop what it had buffered, losing the text and the usage (what the upstream
  charged); ``UpstreamClient`` hands them out before the error.
- Malformed chunk framing: aiohttp stops its socket read timer and the body never ends. A buffered
  answer is bounded by ``read_timeout``, a stream by the relay's idle backstop: a 504, not a request
  that waits forever."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from ob1_gateway.api.keepalive import with_keepalive
from ob1_gateway.settings import Settings
from ob1_gateway.upstream.client import UpstreamClient, UpstreamError, UpstreamStreamError
from ob1_gateway.upstream.token import StaticKey

CHUNKS = [
    {"id": "gen-1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "partial "}}]},
    {"id": "gen-1", "choices": [{"index": 0, "delta": {"content": "answer"}}]},
    {"id": "gen-1", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}},
]


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _cut_off_upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    body = b"".join(_http_chunk(b"data: " + json.dumps(c).encode() + b"\n\n") for c in CHUNKS)
    writer.write(head + body)  # no terminating 0-length chunk, and no [DONE]
    await writer.drain()
    writer.close()


async def _relay() -> tuple[list[dict[str, Any]], UpstreamStreamError]:
    server = await asyncio.start_server(_cut_off_upstream, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = UpstreamClient(Settings(upstream_url=f"http://127.0.0.1:{port}/v1"), StaticKey("k"))
    try:
        stream = await client.open_chat_stream({"model": "m", "messages": [], "stream": True})
        await asyncio.sleep(0.2)  # the whole body and the close have arrived before the first read
        seen: list[dict[str, Any]] = []
        with pytest.raises(UpstreamStreamError) as failure:
            async for chunk in stream:
                seen.append(chunk)
        await stream.aclose()
        return seen, failure.value
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


def test_chunks_that_arrive_with_the_break_are_relayed_before_the_error() -> None:
    seen, failure = asyncio.run(_relay())
    assert seen == CHUNKS, "the text and the usage chunk that came with the break are kept"
    assert failure.status == 502 and "cut off" in failure.message


async def _bad_framing_upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    stream = b"text/event-stream" in head
    kind = b"text/event-stream" if stream else b"application/json"
    first = b"data: " + json.dumps(CHUNKS[0]).encode() + b"\n\n" if stream else b'{"id": "gen-1", '
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ntransfer-encoding: chunked\r\n\r\n" % kind)
    writer.write(_http_chunk(first))
    await writer.drain()
    await asyncio.sleep(0.2)  # the client has the response and is reading its body
    writer.write(b"zz\r\nnot a chunk size\r\n")
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.close()


async def _against_bad_framing(stream: bool) -> tuple[Exception, float]:
    server = await asyncio.start_server(_bad_framing_upstream, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = Settings(upstream_url=f"http://127.0.0.1:{port}/v1", read_timeout=1.0, stream_idle_timeout=1.0)
    client = UpstreamClient(settings, StaticKey("k"))
    started = asyncio.get_running_loop().time()
    try:
        if not stream:
            with pytest.raises(UpstreamError) as failure:
                await asyncio.wait_for(client.chat({"model": "m", "messages": []}), 10)
            return failure.value, asyncio.get_running_loop().time() - started
        chunks = await client.open_chat_stream({"model": "m", "messages": [], "stream": True})
        with pytest.raises(UpstreamStreamError) as broken:

            async def relay() -> None:
                async for _ in with_keepalive(chunks, 15.0, settings.stream_idle_timeout):
                    pass

            await asyncio.wait_for(relay(), 10)
        await chunks.aclose()
        return broken.value, asyncio.get_running_loop().time() - started
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("stream", [False, True], ids=["buffered", "stream"])
def test_malformed_chunk_framing_is_a_504_within_the_timeout(stream: bool) -> None:
    failure, waited = asyncio.run(_against_bad_framing(stream))
    assert failure.status == 504, failure  # type: ignore[attr-defined]
    assert waited < 5, f"waited {waited:.1f} s with a 1 s timeout"
