"""``with_keepalive``: an upstream stream's chunks in batches, with a tick whenever the upstream is silent
for a keep-alive interval, and its idle timeout's backstop.

One task reads the source into a small queue and one timer per interval adds the signals: per chunk that
is a queue hand-over, where a task and a timed wait per chunk would cost the relay much more CPU
(bench/README.md). The chunks of one upstream read come out as one batch, so the relay writes them to
the client in one send instead of one per event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable
from enum import Enum
from typing import Generic, TypeVar

from ..upstream.client import UpstreamStreamError

__all__ = ["with_keepalive"]

T = TypeVar("T")
_QUEUE_SIZE = 64


class _Signal(Enum):
    """What the timer and the reader queue besides chunks."""

    TICK = "tick"  # an interval passed with nothing sent: send a keep-alive
    SILENT = "silent"  # the idle timeout passed with no chunk: the upstream is gone
    ENDED = "ended"  # the reader finished (the end, or the source's error): look at how


def with_keepalive(
    source: AsyncIterable[T], interval: float, idle_timeout: float | None = None
) -> AsyncGenerator[list[T] | None, None]:
    """Yield the source's chunks in batches of what is ready at once, and ``None`` whenever ``interval``
    seconds pass without a batch; after ``idle_timeout`` seconds without a chunk, raise the upstream's 504.
    The idle timeout is the stream request's socket read timeout; this timer is its backstop for the case
    that timer misses (aiohttp stops it after malformed chunk framing, and the body then never ends)."""
    return _Batches(source, interval, idle_timeout).run()


class _Batches(Generic[T]):
    def __init__(self, source: AsyncIterable[T], interval: float, idle_timeout: float | None) -> None:
        self._source = source
        self._interval = interval
        self._idle_timeout = idle_timeout
        self._queue: asyncio.Queue[T | _Signal] = asyncio.Queue(maxsize=_QUEUE_SIZE)

    async def run(self) -> AsyncGenerator[list[T] | None, None]:
        self._loop = asyncio.get_running_loop()
        self._last_sent = self._last_chunk = self._loop.time()
        reader = asyncio.ensure_future(self._read())
        reader.add_done_callback(self._reader_ended)
        self._timer = self._loop.call_later(self._first_due(), self._tick)
        try:
            while True:
                if self._queue.empty() and reader.done():  # every chunk is out: the end, or the source's error
                    _raise_if_failed(reader)
                    return
                first = await self._queue.get()
                if first is _Signal.ENDED:
                    continue
                if first is _Signal.SILENT:
                    raise UpstreamStreamError.silent(self._idle_timeout)
                self._last_sent = self._loop.time()
                yield None if first is _Signal.TICK else [first, *self._ready_chunks()]
        finally:
            self._timer.cancel()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)  # never left running, its error retrieved

    async def _read(self) -> None:
        async for chunk in self._source:
            self._last_chunk = self._loop.time()  # the upstream's silence, not a slow client's, is what times out
            await self._queue.put(chunk)

    def _reader_ended(self, _: asyncio.Future[None]) -> None:
        if not self._queue.full():  # a full queue is being read: the reader is looked at once it is empty
            self._queue.put_nowait(_Signal.ENDED)

    def _ready_chunks(self) -> list[T]:
        """The chunks queued behind the first, without waiting; signals among them are stale (a tick or an
        end noticed while chunks were still queued) and dropped."""
        ready: list[T] = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if not isinstance(item, _Signal):
                ready.append(item)
        return ready

    def _first_due(self) -> float:
        return self._interval if self._idle_timeout is None else min(self._interval, self._idle_timeout)

    def _tick(self) -> None:
        """The timer: a SILENT signal ends it; else a TICK when an interval passed with nothing sent, and the
        next run when the next of the two could be due."""
        now = self._loop.time()
        idle = now - self._last_chunk
        if self._queue.empty():
            if self._idle_timeout is not None and idle >= self._idle_timeout:
                self._queue.put_nowait(_Signal.SILENT)
                return
            if now - self._last_sent >= self._interval:
                self._queue.put_nowait(_Signal.TICK)
        due = max(self._interval - (now - self._last_sent), self._interval / 10)
        if self._idle_timeout is not None:
            due = min(due, max(self._idle_timeout - idle, 0.01))
        self._timer = self._loop.call_later(due, self._tick)


def _raise_if_failed(reader: asyncio.Future[None]) -> None:
    if reader.cancelled():
        raise asyncio.CancelledError
    error = reader.exception()
    if error is not None:
        raise error
