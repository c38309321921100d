"""``with_keepalive``: the relay's source of upstream chunks (in batches of what is ready at once) and
keep-alive ticks (``None``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from ob1_gateway.api.keepalive import with_keepalive


async def _source(log: list[str], *, fail: bool = False) -> AsyncIterator[str]:
    try:
        yield "a"
        await asyncio.sleep(0.35)
        yield "b"
        yield "c"
        if fail:
            raise RuntimeError("upstream broke")
        await asyncio.sleep(10)
        yield "never"
    finally:
        log.append("source closed")


def test_ticks_while_the_source_is_silent_and_items_keep_their_order() -> None:
    out: list[list[str] | None] = []

    async def collect() -> None:
        async for batch in with_keepalive(_source([], fail=True), 0.1):
            out.append(batch)

    with pytest.raises(RuntimeError, match="upstream broke"):
        asyncio.run(collect())
    batches = [b for b in out if b is not None]
    assert batches == [["a"], ["b", "c"]], "items ready at once are one batch; the error comes after them"
    ticks = out[1 : out.index(["b", "c"])]
    assert 2 <= len(ticks) <= 4 and set(ticks) == {None}, out
    assert out[-1] == ["b", "c"], "no tick while items arrive"


def test_closing_the_relay_closes_the_source() -> None:
    log: list[str] = []

    async def run() -> None:
        stream = with_keepalive(_source(log), 0.05)
        assert await stream.__anext__() == ["a"]
        await stream.aclose()
        await asyncio.sleep(0.01)

    asyncio.run(run())
    assert log == ["source closed"]


def test_a_source_that_ends_in_cancellation_does_not_leave_the_relay_waiting() -> None:
    async def cancelled_source() -> AsyncIterator[str]:
        yield "a"
        raise asyncio.CancelledError

    async def run() -> list[list[str] | None]:
        out: list[list[str] | None] = []
        async for batch in with_keepalive(cancelled_source(), 0.05):
            out.append(batch)
        return out

    async def bounded() -> None:
        await asyncio.wait_for(run(), timeout=2)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(bounded())
