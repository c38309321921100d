"""The upstream client reuses its kept-alive connections under sustained concurrency.

A TCP connect per request would add latency to every call; a real server on 127.0.0.1 counts the
connections it accepts. After a burst, a sustained load at concurrency 64 must run on the connections the
pool already holds; light traffic keeps one warm connection; ``upstream_max_connections`` caps how many
are open at once. (The client's CPU cost, the reason for aiohttp, is measured by ``make bench``, not
timed here: bench/README.md, "Why aiohttp".)
"""

from __future__ import annotations

import asyncio
import json

from ob1_gateway.settings import Settings
from ob1_gateway.upstream.client import UpstreamClient, UpstreamError
from ob1_gateway.upstream.token import StaticKey

BODY = json.dumps(
    {
        "id": "gen-1",
        "object": "chat.completion",
        "model": "anthropic/claude-sonnet-4.5",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
).encode()
RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(BODY), BODY)
REQUEST = {"model": "anthropic/claude-sonnet-4.5", "messages": [{"role": "user", "content": "hi"}]}


class CountingUpstream:
    """A keep-alive HTTP/1.1 server answering every request with one chat completion."""

    def __init__(self) -> None:
        self.accepted = 0
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.lower().split(b"\r\n")
                length = next((int(line[15:]) for line in lines if line.startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                self.requests += 1
                await asyncio.sleep(0.001)  # the upstream takes a moment, so requests overlap
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _run(concurrency: int, rounds: int) -> tuple[int, int, int]:
    upstream = CountingUpstream()
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = UpstreamClient(Settings(upstream_url=f"http://127.0.0.1:{port}/v1"), StaticKey("upstream-key"))
    try:
        # A burst, then the sustained load.
        await asyncio.gather(*(client.chat(REQUEST) for _ in range(concurrency + 16)))
        after_burst = upstream.accepted

        async def worker() -> None:
            for _ in range(rounds):
                await client.chat(REQUEST)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return after_burst, upstream.accepted - after_burst, upstream.requests
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


def test_sustained_concurrency_reuses_upstream_connections() -> None:
    concurrency, rounds = 64, 15
    burst_connections, new_connections, requests = asyncio.run(_run(concurrency, rounds))
    assert requests == concurrency + 16 + concurrency * rounds
    assert burst_connections <= concurrency + 16
    # 960 requests at concurrency 64 on a pool that already holds ≥ 64 connections: a few new ones at
    # most (a connection the pool judged surplus), not one per request.
    assert new_connections <= 16, f"{new_connections} new upstream connections for {concurrency * rounds} requests"


async def _light_then_heavy() -> tuple[int, int, int]:
    upstream = CountingUpstream()
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = Settings(upstream_url=f"http://127.0.0.1:{port}/v1", upstream_max_connections=8)
    client = UpstreamClient(settings, StaticKey("k"))
    try:
        for _ in range(20):  # light traffic: one request at a time
            await client.chat(REQUEST)
        light = upstream.accepted
        answers = await asyncio.gather(*(client.chat(REQUEST) for _ in range(40)))
        return light, upstream.accepted, len(answers)
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


def test_light_traffic_reuses_one_connection_and_the_cap_bounds_a_burst() -> None:
    light, accepted, answered = asyncio.run(_light_then_heavy())
    assert light == 1, "sequential requests must keep reusing one warm connection"
    assert answered == 40, "requests beyond the cap wait for a connection, they do not fail"
    assert 1 < accepted <= 8, f"{accepted} connections for 40 requests at once with a cap of 8"


async def _idle_then_again(keepalive: float) -> int:
    upstream = CountingUpstream()
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = Settings(upstream_url=f"http://127.0.0.1:{port}/v1", upstream_keepalive_seconds=keepalive)
    client = UpstreamClient(settings, StaticKey("k"))
    try:
        await client.chat(REQUEST)
        await asyncio.sleep(0.4)
        await client.chat(REQUEST)
        return upstream.accepted
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


def test_an_idle_connection_is_kept_for_the_keepalive_setting_only() -> None:
    assert asyncio.run(_idle_then_again(60)) == 1, "within the keep-alive the connection is reused"
    assert asyncio.run(_idle_then_again(0.1)) == 2, "past it, a new connection is opened"


async def _endless_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers one request with a stream that never ends: its connection stays taken."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
    writer.write(b"d\r\n: keep-alive\n\r\n")
    await writer.drain()
    await asyncio.sleep(30)


async def _past_the_cap() -> tuple[list[object], int]:
    accepted = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        await _endless_stream(reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = Settings(
        upstream_url=f"http://127.0.0.1:{port}/v1",
        upstream_max_connections=1,
        read_timeout=1.5,  # also how long a request waits for a free connection
        connect_timeout=0.2,
        max_retries=2,
    )
    client = UpstreamClient(settings, StaticKey("k"))
    try:
        held = await client.open_chat_stream(REQUEST)  # holds the one connection until it is closed
        second = await asyncio.gather(client.chat(REQUEST), return_exceptions=True)
        await held.aclose()
        return second, accepted
    finally:
        await client.aclose()
        server.close()


def test_waiting_past_the_cap_is_a_503_not_retried() -> None:
    [outcome], connections = asyncio.run(_past_the_cap())
    assert isinstance(outcome, UpstreamError), outcome
    assert outcome.status == 503 and "too many concurrent upstream requests" in outcome.message
    assert connections == 1, "the request that waited for a connection never reached the upstream"
