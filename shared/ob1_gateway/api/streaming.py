"""Relaying an upstream stream to the client through a ``StreamTranslator`` (``relay_translated``), as
an event stream proxies pass on as it comes, logging a failure that is not the upstream's without its
message (which could quote request content)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Protocol

from fastapi.responses import StreamingResponse

from ..translate.sse import Event, encode_sse
from ..translate.token_count import streamed_chars
from ..translate.token_usage import Usage
from ..upstream.client import UpstreamStreamError
from .keepalive import with_keepalive

if TYPE_CHECKING:
    from ..gateway import Gateway
    from ..metering.meter import RequestMeter

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


class UpstreamChunks(Protocol):
    """An upstream stream as the relay reads it: one ``ChatStream``, or a web tool loop's rounds (``LoopStream``)."""

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...

    async def aclose(self) -> None: ...


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
    chunks: UpstreamChunks,
    translator: StreamTranslator,
    meter: RequestMeter,
    *,
    keepalive: bytes,
    on_close: Callable[[list[Event]], Awaitable[None]] | None = None,
) -> AsyncIterator[bytes]:
    """Feed upstream chunks through a translator as SSE, then end the stream one way: done, the upstream's
    failure, or a gateway bug, each closing it cleanly with its own events and one usage record. The
    closing events wait until the record is durable (and ``on_close``, given them, has run), so a client
    that saw the end of its stream is always on the bill. A client that leaves before the end is recorded
    (499) with what was consumed."""
    relay = _Relay(translator)
    try:
        for name, data in translator.start():
            yield encode_sse(name, data)
        try:
            idle = gw.settings.stream_idle_timeout
            async with aclosing(with_keepalive(chunks, KEEPALIVE_SECONDS, idle)) as batches:  # closed on every exit
                async for batch in batches:
                    if batch is None:
                        yield keepalive
                        continue
                    meter.mark_first_byte()
                    sent, error = relay.feed(batch)
                    if sent:  # what one upstream read produced goes out in one write
                        yield sent
                    if error is not None:
                        raise error
                    if relay.failure is not None:
                        break
            status, closing = relay.ending()
        except UpstreamStreamError as exc:
            status, closing = exc.status, translator.fail(exc.status, exc.message)
        except Exception as exc:  # a gateway bug must still end the stream with an error event
            log_stream_failure(exc)
            status, closing = 500, translator.fail(500, "internal gateway error")
        await asyncio.shield(gw.recorder.submit(meter.record(translator.usage, status, gw.settings.pricing)))
        if on_close is not None:
            await on_close(closing)
        for name, data in closing:
            yield encode_sse(name, data)
    finally:
        if not meter.recorded:  # the client went away: record what was consumed (awaiting here may be cancelled)
            usage, estimated = meter.left_stream_usage(translator.usage, relay.relayed_chars)
            gw.recorder.submit(meter.record(usage, 499, gw.settings.pricing, estimated=estimated))
        await chunks.aclose()  # closes the upstream connection unless it was read to its end


class _Relay:
    """One stream's translation: upstream chunks in, SSE bytes out, and how it ends."""

    def __init__(self, translator: StreamTranslator) -> None:
        self.translator = translator
        self.relayed_chars = 0  # generated text received so far: the output estimate if the client leaves
        self.failure: list[Event] | None = None  # the closing events of a failure the upstream reported

    def feed(self, batch: list[dict[str, Any]]) -> tuple[bytes, Exception | None]:
        """The SSE bytes of a batch of chunks, and the translator's error if one stopped it (what it had
        emitted by then is still sent). Stops at a failure the upstream reports (``failure``)."""
        out: list[bytes] = []
        for chunk in batch:
            self.relayed_chars += streamed_chars(chunk)
            try:
                events = self.translator.feed(chunk)
            except Exception as exc:
                return b"".join(out), exc
            if self.translator.failed_status is not None:
                self.failure = events
                break
            out.extend(encode_sse(name, data) for name, data in events)
        return b"".join(out), None

    def ending(self) -> tuple[int, list[Event]]:
        """The status and closing events of a stream the upstream ended: its own failure, a fault in how
        it ended (502), or done."""
        if self.failure is None:
            fault = self.translator.ending_fault()
            self.failure = self.translator.fail(502, fault) if fault else self.translator.finish()
        return self.translator.failed_status or 200, self.failure
