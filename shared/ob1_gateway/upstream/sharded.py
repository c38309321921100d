"""Several small connection pools behind one httpx2 transport.

httpcore's pool re-checks every connection it holds on every request (``has_expired`` polls each socket),
so its cost per request grows with the connections it holds: at 750 requests in flight to a model that
answers in 1.5 s that scan was 63 % of the gateway's CPU, and throughput fell to 31 % of the upstream's
(bench/README.md, "Sustained load"). Shards of ``shard_size`` connections keep each scan short: with
shards of 64 the scan was still 19 % of the CPU at that load, with shards of 8 it is 3.5 %. Shards
are filled in order, so light traffic keeps reusing the first shard's warm connections (no new TLS
handshakes), and a shard's pool is only built when the load first reaches it.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator

import httpx2

__all__ = ["ShardedTransport"]


class _Released(httpx2.AsyncByteStream):
    """A response stream that gives its shard's slot back once, when it is closed."""

    def __init__(self, stream: httpx2.AsyncByteStream, release: object) -> None:
        self._stream = stream
        self._release = release
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if not self._released:
                self._released = True
                self._release()  # type: ignore[operator]


class ShardedTransport(httpx2.AsyncBaseTransport):
    def __init__(
        self, *, max_connections: int, max_keepalive: int, keepalive_expiry: float, shard_size: int = 8
    ) -> None:
        count = max(1, math.ceil(max_connections / shard_size))
        self._size = math.ceil(max_connections / count)
        self._limits = httpx2.Limits(
            max_connections=self._size,
            max_keepalive_connections=math.ceil(max_keepalive / count),
            keepalive_expiry=keepalive_expiry,
        )
        self._ssl: ssl.SSLContext | None = None  # one context for every shard (loading the CAs is slow)
        self._shards: list[httpx2.AsyncHTTPTransport | None] = [None] * count
        self._busy = [0] * count

    def _shard(self, index: int) -> httpx2.AsyncHTTPTransport:
        shard = self._shards[index]
        if shard is None:
            if self._ssl is None:
                self._ssl = httpx2.create_ssl_context()
            shard = self._shards[index] = httpx2.AsyncHTTPTransport(verify=self._ssl, limits=self._limits)
        return shard

    def _pick(self) -> int:
        for index, busy in enumerate(self._busy):
            if busy < self._size:
                return index
        return min(range(len(self._busy)), key=self._busy.__getitem__)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        index = self._pick()
        self._busy[index] += 1
        try:
            response = await self._shard(index).handle_async_request(request)
        except BaseException:
            self._busy[index] -= 1
            raise

        def release() -> None:
            self._busy[index] -= 1

        response.stream = _Released(response.stream, release)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        for shard in self._shards:
            if shard is not None:
                await shard.aclose()
