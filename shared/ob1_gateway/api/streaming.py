"""Helpers for relaying upstream streams: keep-alive ticks while the upstream is silent, and logging
a failure that is not the upstream's (without its message, which could quote request content)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from fastapi.responses import StreamingResponse

from ..translate.sse import Event, encode_sse
from ..translate.token_count import streamed_chars
from ..translate.token_usage import Usage
from ..upstream.client import ChatStream, UpstreamStreamError

if TYPE_CHECKING:
    from ..gateway import Gateway
    from ..metering.recorder import RequestMeter

T = TypeVar("T")
KEEPALIVE_SECONDS = 15.0
KEEPALIVE_COMMENT = b": keep-alive\n\n"  # what OpenAI-shaped streams send while the upstream is silent

log = logging.getLogger("ob1_gateway.stream")


def sse_response(events: AsyncIterator[bytes]) -> StreamingResponse:
    """An event stream that caches and buffering proxies (nginx) must pass through as it comes."""
    return StreamingResponse(
        events, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


def log_stream_failure(exc: BaseException) -> None:
    """Log an unexpected error in a stream relay by type and location only."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"
    log.error("stream relay failed: %s at %s", type(exc).__name__, where)


_WAKE = object()  # the reader task ended: look at how
_SILENT = object()  # nothing came for the idle timeout


async def with_keepalive(
    source: AsyncIterable[T], interval: float, idle_timeout: float | None = None
) -> AsyncGenerator[list[T] | None, None]:
    """Yield the source's items in batches of what is ready at once, and ``None`` whenever ``interval``
    seconds pass without one; after ``idle_timeout`` seconds without an item, raise the upstream's 504.

    One task reads the source into a small queue and one timer per ``interval`` adds the ticks: per
    item that is a queue hand-over, where a task and a timed wait per item cost a relayed stream ~10 %
    of its CPU. The chunks of one upstream read come out as one batch, so the relay writes them to the
    client in one send instead of one per event (bench/README.md). The idle timeout is the stream
    request's socket read timeout; this timer is its backstop for the case that timer misses (aiohttp
    stops it after malformed chunk framing, and the body then never ends)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=64)
    last = last_item = loop.time()

    async def pump() -> None:
        nonlocal last_item
        async for item in source:
            last_item = loop.time()  # the upstream's silence, not a slow client's, is what times out
            await queue.put(item)

    def pumped(_: asyncio.Task[None]) -> None:
        if not queue.full():  # a full queue is being read: the reader looks once it is empty
            queue.put_nowait(_WAKE)

    timer: asyncio.TimerHandle | None = None

    def tick() -> None:
        nonlocal timer
        now = loop.time()
        if idle_timeout is not None and now - last_item >= idle_timeout and queue.empty():
            queue.put_nowait(_SILENT)
            return
        if now - last >= interval and queue.empty():
            queue.put_nowait(None)
        due = max(interval - (now - last), interval / 10)
        if idle_timeout is not None:
            due = min(due, max(idle_timeout - (now - last_item), 0.01))
        timer = loop.call_later(due, tick)

    reader = asyncio.ensure_future(pump())
    reader.add_done_callback(pumped)
    timer = loop.call_later(interval if idle_timeout is None else min(interval, idle_timeout), tick)
    try:
        while True:
            if queue.empty() and reader.done():  # every item is out: the end, or the source's error
                if reader.cancelled():
                    raise asyncio.CancelledError
                error = reader.exception()
                if error is not None:
                    raise error
                return
            item = await queue.get()
            if item is _WAKE:
                continue
            if item is _SILENT:
                raise UpstreamStreamError.silent(idle_timeout)
            last = loop.time()
            if item is None:
                yield None
                continue
            batch = [item]
            while not queue.empty():  # no await since the get: only items (and the end's wake) are queued
                more = queue.get_nowait()
                if more is not _WAKE and more is not None and more is not _SILENT:
                    batch.append(more)
            yield batch  # type: ignore[misc]
    finally:
        if timer is not None:
            timer.cancel()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)  # never left running, its error retrieved


class StreamTranslator(Protocol):
    """What every stream translator offers the relay (Anthropic, Responses, chat pass-through)."""

    failed_status: int | None

    @property
    def usage(self) -> Usage: ...

    def ending_fault(self) -> str | None: ...

    def start(self) -> list[Event]: ...

    def feed(self, chunk: dict[str, Any]) -> list[Event]: ...

    def finish(self) -> list[Event]: ...

    def fail(self, status: int, message: str) -> list[Event]: ...


async def relay_translated(
    gw: Gateway,
    chunks: ChatStream,
    translator: StreamTranslator,
    meter: RequestMeter,
    *,
    keepalive: bytes,
    on_close: Callable[[list[Event]], Awaitable[None]] | None = None,
) -> AsyncIterator[bytes]:
    """Feed upstream chunks through a translator as SSE; every ending (done, upstream failure, gateway
    bug, client gone) closes the stream cleanly and records usage exactly once. The closing events wait
    until the record is durable (and ``on_close``, given them, has run), so a client that saw the end of
    its stream is always on the bill."""
    status = 499  # until the stream completes, the client is assumed to have gone away
    submitted = False
    relayed_chars = 0  # generated text received so far: the output estimate if the client leaves
    try:
        try:
            for name, data in translator.start():
                yield encode_sse(name, data)
            closing: list[Event] | None = None
            idle = gw.settings.stream_idle_timeout
            async with aclosing(with_keepalive(chunks, KEEPALIVE_SECONDS, idle)) as batches:  # closed on every exit
                async for batch in batches:
                    if batch is None:
                        yield keepalive
                        continue
                    meter.mark_first_byte()
                    out: list[bytes] = []
                    try:
                        for chunk in batch:
                            relayed_chars += streamed_chars(chunk)
                            events = translator.feed(chunk)
                            if translator.failed_status is not None:  # the upstream reported a failure
                                closing = events
                                break
                            out.extend(encode_sse(name, data) for name, data in events)
                    except Exception:
                        if out:  # what the translator already emitted was sent as far as it knows
                            yield b"".join(out)
                        raise
                    if out:  # what one upstream read produced goes out in one write
                        yield b"".join(out)
                    if closing is not None:
                        break
            if closing is None:
                fault = translator.ending_fault()
                closing = translator.fail(502, fault) if fault else translator.finish()
            status = translator.failed_status or 200
        except UpstreamStreamError as exc:
            status = exc.status
            closing = translator.fail(exc.status, exc.message)
        except Exception as exc:  # a gateway bug must still end the stream with an error event
            status = 500
            log_stream_failure(exc)
            closing = translator.fail(500, "internal gateway error")
        settled = gw.recorder.submit(meter.record(translator.usage, status, gw.settings.pricing))
        submitted = True
        await asyncio.shield(settled)
        if on_close is not None:
            await on_close(closing)
        for name, data in closing:
            yield encode_sse(name, data)
    finally:
        if not submitted:  # the client went away: record what was consumed (awaiting here may be cancelled)
            usage, estimated = meter.left_stream_usage(translator.usage, relayed_chars)
            gw.recorder.submit(meter.record(usage, status, gw.settings.pricing, estimated=estimated))
        await chunks.aclose()  # closes the upstream connection unless it was read to its end
