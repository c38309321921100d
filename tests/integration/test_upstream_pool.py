"""The upstream client reuses its kept-alive connections under sustained concurrency.

A TCP connect per request would add latency to every call; a real server on 127.0.0.1 counts the
connections it accepts. After a burst past the keep-alive cap, a sustained load at concurrency 64 must
run on the connections the pool already holds. (The pool's CPU cost, the reason for httpx2, is measured
by ``make bench``, not timed here: bench/README.md, "Why httpx2".)
"""

from __future__ import annotations

import asyncio
import json

import httpx2
from ob1_gateway.settings import Settings
from ob1_gateway.upstream.client import UpstreamClient
from ob1_gateway.upstream.sharded import ShardedTransport
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
        # A burst past the keep-alive cap (64), then the sustained load.
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


async def _light_then_heavy() -> tuple[int, int, list[int]]:
    upstream = CountingUpstream()
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = ShardedTransport(max_connections=40, max_keepalive=40, keepalive_expiry=60, shard_size=8)
    http = httpx2.AsyncClient(transport=transport)
    client = UpstreamClient(Settings(upstream_url=f"http://127.0.0.1:{port}/v1"), StaticKey("k"), http=http)
    try:
        for _ in range(20):  # light traffic: one request at a time
            await client.chat(REQUEST)
        light = upstream.accepted
        await asyncio.gather(*(client.chat(REQUEST) for _ in range(40)))
        shards_built = sum(shard is not None for shard in transport._shards)
        return light, shards_built, list(transport._busy)
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


def test_sharded_pools_reuse_one_connection_when_light_and_spread_when_busy() -> None:
    light, shards_built, busy = asyncio.run(_light_then_heavy())
    assert light == 1, "sequential requests must keep reusing the first shard's warm connection"
    assert shards_built == 5, "40 requests at once fill all five shards of 8"
    assert busy == [0] * 5, "every slot is given back when its response is closed"
