"""Helpers for relaying upstream streams: keep-alive ticks while the upstream is silent, and logging
a failure that is not the upstream's (without its message, which could quote request content)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger("ob1_gateway.stream")


def log_stream_failure(exc: BaseException) -> None:
    """Log an unexpected error in a stream relay by type and location only."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"
    log.error("stream relay failed: %s at %s", type(exc).__name__, where)


async def with_keepalive(source: AsyncIterable[T], interval: float) -> AsyncIterator[T | None]:
    """Yield the source's items, and ``None`` whenever ``interval`` seconds pass without one."""
    iterator = source.__aiter__()
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield None
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
