"""The one request pipeline every chat-shaped route runs after it has read, validated and resolved its
body: admit and meter, send upstream, then answer whole or relay the stream, and record exactly once.
The routes differ only in how they shape the answer (``shape``) and the stream (a ``StreamTranslator``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, Literal, Protocol, TypeVar, overload

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..gateway import Gateway
from ..metering.recorder import RequestMeter
from ..stores.base import KeyRecord
from ..translate.sse import Event
from ..translate.system_hoist import hoist_system_messages
from ..translate.token_count import estimate_chat_tokens
from ..translate.token_usage import Usage, usage_from_openai
from ..upstream.catalog import Model
from ..upstream.client import ChatStream, UpstreamError
from .deps import admit, gateway, upstream_api_error
from .settlement import settlement_of
from .streaming import StreamTranslator, relay_translated, sse_response

log = logging.getLogger("ob1_gateway.api")
R = TypeVar("R")
# The upstream model that served an answer: another model than the one asked for when an alias or the family
# fallback chose it (the usage record names it too).
MODEL_HEADER = "x-ob1gw-model"


class Finisher(Protocol):
    """What a route does with its answer once it is made and recorded, before the caller gets it (the
    Responses API stores it): ``answered`` returns the whole answer to send, ``closing`` may amend a
    stream's closing events."""

    async def answered(self, result: Any) -> Any: ...

    async def closing(self, events: list[Event]) -> None: ...


async def complete_chat(
    request: Request,
    key: KeyRecord,
    model: Model,
    body: dict[str, Any],
    stream: bool,
    shape: Callable[[dict[str, Any]], tuple[Any, Usage]],
    translator: Callable[[], StreamTranslator],
    keepalive: bytes,
    finisher: Finisher | None = None,
) -> JSONResponse | StreamingResponse:
    """Run an upstream chat ``body`` for ``key`` on ``model``: whole (``shape`` makes the caller's answer
    and its usage from the upstream's) or streamed (through a new ``translator()``, with ``keepalive``
    sent while the upstream is silent). Either way the answer names ``model`` in ``x-ob1gw-model``."""
    gw = gateway(request)
    meter = await admit(request, key, stream=stream)
    meter.model, meter.pricing = model.id, model.pricing
    if not stream:
        result = await answer(gw, meter, body, shape)
        return JSONResponse(await finisher.answered(result) if finisher else result, headers={MODEL_HEADER: model.id})
    meter.estimate_input = partial(estimate_chat_tokens, body)  # if the client leaves mid-stream
    with upstream_failure_metered(gw, meter):
        chunks = await send_chat(gw, body, stream=True)
    settlement_of(request).close_upstream = chunks.aclose  # closed however the request ends
    closing = finisher.closing if finisher else None
    response = sse_response(relay_translated(gw, chunks, translator(), meter, keepalive=keepalive, on_close=closing))
    response.headers[MODEL_HEADER] = model.id
    return response


@contextmanager
def upstream_failure_metered(gw: Gateway, meter: RequestMeter) -> Iterator[None]:
    """A request that fails before any byte is still a request: an upstream refusal is recorded (no
    tokens) with its status and answered with the API's own error; a gateway bug is recorded as 500
    and left to the catch-all, which answers 500 in the API's shape."""
    try:
        yield
    except UpstreamError as exc:
        gw.recorder.submit(meter.record(Usage(), exc.status, gw.settings.pricing))
        raise upstream_api_error(exc) from None
    except Exception:
        gw.recorder.submit(meter.record(Usage(), 500, gw.settings.pricing))
        raise


async def answer(
    gw: Gateway, meter: RequestMeter, body: dict[str, Any], shape: Callable[[dict[str, Any]], tuple[R, Usage]]
) -> R:
    """A non-stream request: send it, ``shape`` the upstream's answer for the caller, and return only once
    its usage record is durable (a crash after the caller has its answer must not lose the record).
    If shaping fails, what the upstream charged is still recorded, with status 500."""
    with upstream_failure_metered(gw, meter):
        response = await send_chat(gw, body, stream=False)
    try:
        result, usage = shape(response)
    except Exception:
        gw.recorder.submit(meter.record(usage_from_openai(response.get("usage")), 500, gw.settings.pricing))
        raise
    await gw.recorder.write(meter.record(usage, 200, gw.settings.pricing))
    return result


@overload
async def send_chat(gw: Gateway, body: dict[str, Any], *, stream: Literal[False]) -> dict[str, Any]: ...
@overload
async def send_chat(gw: Gateway, body: dict[str, Any], *, stream: Literal[True]) -> ChatStream: ...
async def send_chat(gw: Gateway, body: dict[str, Any], *, stream: bool) -> dict[str, Any] | ChatStream:
    """Send a chat body upstream. An upstream that refuses (400) a body with system messages after the
    first turn gets it once more with them merged into the leading one (a 400 is not charged)."""
    send = gw.upstream.open_chat_stream if stream else gw.upstream.chat
    try:
        return await send(body)
    except UpstreamError as exc:
        hoisted = hoist_system_messages(body) if exc.status == 400 else None
        if hoisted is None:
            raise
    log.info("upstream refused system messages after the first turn; sending them merged into the first")
    return await send(hoisted)
