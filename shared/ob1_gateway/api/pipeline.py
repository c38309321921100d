"""The one request pipeline every chat-shaped route runs, in this order: admission (key, budget, rate
limits: ``admit``), the body read and checked, the route's own preparation (validation, model
resolution, translation: a ``ChatCall``), the upstream call, then the answer whole or the stream relayed,
recorded exactly once. The routes differ only in how they prepare the call and shape the answer
(``shape``) and the stream (a ``StreamTranslator``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, Protocol, TypeVar, overload

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..gateway import Gateway
from ..metering.meter import RequestMeter
from ..stores.base import KeyRecord
from ..translate.chat.system_hoist import hoist_system_messages
from ..translate.sse import Event
from ..translate.token_count import estimate_chat_tokens
from ..translate.token_usage import Usage, usage_from_openai
from ..translate.upstream_refusals import CONTEXT_LENGTH_EXCEEDED, ContextOverflow, about_system_messages
from ..translate.web_tools import WebTools, upstream_search
from ..upstream.catalog import Model
from ..upstream.client import ChatStream, UpstreamError
from ..websearch.tool_runner import ToolRunner
from ..websearch.web_loop import LoopStream, run_whole
from .body import read_json_object
from .deps import PromptSize, gateway, upstream_api_error
from .errors import ApiError, speaks_anthropic
from .request_admission import admit
from .settlement import settlement_of
from .streaming import KEEPALIVE_SECONDS, StreamTranslator, relay_translated, sse_response

log = logging.getLogger("ob1_gateway.api")
R = TypeVar("R")
# The upstream model that served an answer: another model than the one asked for when an alias or the family
# fallback chose it (the usage record names it too).
MODEL_HEADER = "x-ob1gw-model"


class Finisher(Protocol):
    """What a route does with its answer once it is made and recorded, before the caller gets it (the
    Responses API stores it): ``answered`` returns the whole answer to send; ``closing`` may amend a
    stream's closing events, given the translator that made them."""

    async def answered(self, result: Any) -> Any: ...

    async def closing(self, translator: Any, events: list[Event]) -> None: ...


@dataclass
class ChatCall:
    """What a route prepared: the upstream ``body`` for ``model``, and how to answer. Whole: ``shape`` makes
    the caller's answer and its usage from the upstream's. Streamed: through a new ``translator()``, with
    ``keepalive`` sent while the upstream is silent. ``headers`` go on the answer."""

    model: Model
    body: dict[str, Any]
    stream: bool
    shape: Callable[[dict[str, Any]], tuple[Any, Usage]]
    translator: Callable[[], StreamTranslator]
    keepalive: bytes
    finisher: Finisher | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # The gateway's web tools the caller offered: the call runs as a loop (websearch/web_loop.py), and ``shape``
    # takes the loop's ``steps`` too.
    web: WebTools = field(default_factory=WebTools)


Prepare = Callable[[Gateway, KeyRecord, dict[str, Any]], Awaitable[ChatCall]]


async def run_chat(request: Request, prepare: Prepare) -> JSONResponse | StreamingResponse:
    """Admit the request, read its body, let the route ``prepare`` the call, then run it upstream. The
    answer names the serving model in ``x-ob1gw-model``."""
    gw = gateway(request)
    key, meter = await admit(request)
    body = await read_json_object(request, gw.settings)
    call = await prepare(gw, key, body)
    searched_upstream = await _ask_upstream_to_search(gw, key, call)
    anthropic = speaks_anthropic(request.scope["path"], request.headers)
    _refuse_clear_overflow(call, request.headers.get("content-length", ""), anthropic)
    meter.model, meter.pricing, meter.stream = call.model.id, call.model.pricing, call.stream
    settlement_of(request).start_metering(request)
    refusals = _Refusals(gw, meter, anthropic, call)
    runner = await _web_runner(gw, meter, call, key)
    if searched_upstream:  # one search, asked of the upstream (counted from here: every path on records it)
        gw.searches.ran(key.key_id)
        meter.web = runner or _UpstreamSearch(gw.web.search_price_usd)
        if runner is not None:
            runner.count_upstream_search()
    if call.stream:
        response: JSONResponse | StreamingResponse = await _streamed(request, gw, meter, call, refusals, runner)
    else:
        response = await _whole(gw, call, refusals, runner)
    response.headers.update({**call.headers, MODEL_HEADER: call.model.id})
    return response


# The local estimate over-counts real prompts by at most 1.71x (a 14-token request, framing-heavy) and 1.28x on
# code, in bench/README.md "The local token estimate"; twice the context is clearly over for any real prompt.
CLEARLY_OVER = 2.0


def _refuse_clear_overflow(call: ChatCall, content_length: str, anthropic: bool) -> None:
    """Refuse, before any upstream call, a prompt whose local estimate is clearly past the model's context, in
    the words each client compacts on. Only a body of at least ``CLEARLY_OVER`` x 4 bytes a token can be: the
    estimate (about 4 characters a token) is not computed for the rest."""
    context = call.model.limits.context_length
    if not context or not content_length.isdigit() or int(content_length) < CLEARLY_OVER * 4 * context:
        return
    estimate = estimate_chat_tokens(call.body)
    if estimate <= CLEARLY_OVER * context:
        return
    if anthropic:
        raise ApiError(400, ContextOverflow(estimate, context).anthropic_message(estimate, context))
    raise ApiError(
        400,
        f"This model's maximum context length is {context} tokens. However, your messages resulted in about "
        f"{estimate} tokens (the gateway's estimate). Please reduce the length of the messages.",
        param="messages",
        code=CONTEXT_LENGTH_EXCEEDED,
    )


async def _ask_upstream_to_search(gw: Gateway, key: KeyRecord, call: ChatCall) -> bool:
    """With ``OB1GW_WEB_SEARCH=upstream``, a request that offers web search asks the upstream for it (OpenRouter's web
    plugin), within the key's daily allowance: past it, a 429 naming the limit (the upstream cannot be asked to
    search fewer times, so the search cannot be refused one call at a time as the gateway's own are)."""
    if not (call.web.search is not None and gw.web.by_upstream):
        return False
    call.body, call.web = upstream_search(call.body, call.web, gw.settings.web_search_max_results)
    if not await gw.searches.allows(key):
        raise ApiError(
            429,
            f"key {key.key_id} has used its {key.policy.searches_per_day} web searches for today (UTC); "
            "ask without web search, or ask an admin to raise --searches-per-day",
            code="web_search_limit",
        )
    return True


@dataclass
class _UpstreamSearch:
    """A request's one search asked of the upstream (``metering.meter.WebUse``)."""

    price_usd: float
    searches: int = 1
    fetches: int = 0

    @property
    def cost_usd(self) -> float:
        return self.searches * self.price_usd


async def _web_runner(gw: Gateway, meter: RequestMeter, call: ChatCall, key: KeyRecord) -> ToolRunner | None:
    """The runner of the request's web tool calls (None: it offers none), counted on its usage record and, search
    by search, against the key's daily allowance."""
    if not call.web:
        return None

    context = json.dumps(call.body.get("messages"), ensure_ascii=False)  # the URLs a fetch may name
    runner = ToolRunner(
        await gw.web.kit(),
        call.web,
        context=context,
        allow_search=partial(gw.searches.allows, key),
        searched=partial(gw.searches.ran, key.key_id),
    )
    meter.web = runner
    return runner


async def _whole(gw: Gateway, call: ChatCall, refusals: _Refusals, runner: ToolRunner | None) -> JSONResponse:
    result = await answer(gw, refusals, call.body, call.shape, loop=runner)
    return JSONResponse(await call.finisher.answered(result) if call.finisher else result)


async def _streamed(
    request: Request,
    gw: Gateway,
    meter: RequestMeter,
    call: ChatCall,
    refusals: _Refusals,
    runner: ToolRunner | None,
) -> StreamingResponse:
    meter.estimate_input = partial(estimate_chat_tokens, call.body)  # if the client leaves mid-stream
    chunks: ChatStream | LoopStream
    if runner is not None:
        chunks = LoopStream(lambda body: send_chat(gw, body, stream=True), call.body, runner)
        settlement_of(request).close_upstream = chunks.aclose
        with refusals.metered(charged=chunks.opened_usage):  # the first round as a plain stream's opening
            await chunks.start(KEEPALIVE_SECONDS)
    else:
        with refusals.metered():
            chunks = await send_chat(gw, call.body, stream=True)
        settlement_of(request).close_upstream = chunks.aclose  # closed however the request ends
        with refusals.metered(charged=chunks.opened_usage):  # a failure before the first word is a plain error
            await chunks.opening(KEEPALIVE_SECONDS)
    translator = call.translator()
    closing = partial(call.finisher.closing, translator) if call.finisher else None
    return sse_response(relay_translated(gw, chunks, translator, meter, keepalive=call.keepalive, on_close=closing))


@dataclass
class _Refusals:
    """How a request that fails before any byte is recorded and answered: an upstream refusal is recorded (with
    what it charged, usually nothing) with its status and answered in the caller's API's words
    (``upstream_api_error``); a gateway bug is recorded as 500 and left to the catch-all, which answers 500 in
    the API's shape."""

    gw: Gateway
    meter: RequestMeter
    anthropic: bool
    call: ChatCall

    @contextmanager
    def metered(self, charged: Callable[[], dict[str, Any] | None] = lambda: None) -> Iterator[None]:
        pricing = self.gw.settings.pricing
        try:
            yield
        except UpstreamError as exc:
            self.gw.recorder.submit(self.meter.record(usage_from_openai(charged()), exc.status, pricing))
            prompt = PromptSize(self.call.model.limits.context_length, partial(estimate_chat_tokens, self.call.body))
            raise upstream_api_error(exc, anthropic=self.anthropic, prompt=prompt) from None
        except Exception:
            self.gw.recorder.submit(self.meter.record(Usage(), 500, pricing))
            raise


async def answer(
    gw: Gateway,
    refusals: _Refusals,
    body: dict[str, Any],
    shape: Callable[..., tuple[R, Usage]],
    *,
    loop: ToolRunner | None = None,
) -> R:
    """A non-stream request: send it, ``shape`` the upstream's answer for the caller, and return only once
    its usage record is durable (a crash after the caller has its answer must not lose the record).
    If shaping fails, what the upstream charged is still recorded, with status 500. With ``loop``, the request
    runs the gateway's web tools (every round sent, their usage summed) and ``shape`` is given the ``steps``."""
    meter = refusals.meter
    with refusals.metered():
        if loop is None:
            response = await send_chat(gw, body, stream=False)
        else:
            ran = await run_whole(lambda body: send_chat(gw, body, stream=False), body, loop)
            response, shape = ran.final, partial(shape, steps=ran.steps)
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
    """Send a chat body upstream. An upstream that refuses (400) system messages after the first turn gets the
    body once more with them merged into the leading one (a 400 is not charged); any other refusal is final."""
    send = gw.upstream.open_chat_stream if stream else gw.upstream.chat
    try:
        return await send(body)
    except UpstreamError as exc:
        about_system = exc.status == 400 and about_system_messages(exc.message)
        hoisted = hoist_system_messages(body) if about_system else None
        if hoisted is None:
            raise
    log.info("upstream refused system messages after the first turn; sending them merged into the first")
    return await send(hoisted)
