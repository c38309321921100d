"""A stream whose connection breaks right after its last chunks: what arrived is still relayed.

The upstream writes two text chunks and the usage chunk, then closes the connection before the end of
the chunked body, in one go. The client sees the data and the broken connection in one read; aiohttp
would raise at the next read and drop what it had buffered, so the gateway would lose the text and the
usage (what the upstream charged). ``UpstreamClient`` hands them out before the error."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from ob1_gateway.settings import Settings
from ob1_gateway.upstream.client import UpstreamClient, UpstreamStreamError
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
