"""Anthropic ingress: ``POST /v1/messages`` (stream and not) and ``POST /v1/messages/count_tokens``,
translated to and from upstream chat completions by the shared translator."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..stores.base import KeyRecord
from ..translate.anthropic_in import InvalidRequest, anthropic_to_chat
from ..translate.anthropic_out import chat_to_anthropic
from ..translate.anthropic_stream import AnthropicStream
from ..translate.sse import encode_sse
from ..translate.token_count import estimate_input_tokens
from .body import (
    ANTHROPIC_COUNT_TOKENS_BODY,
    ANTHROPIC_MESSAGES_BODY,
    json_body,
    optional_bool,
    read_json_object,
    require_str,
)
from .budget import within_budget
from .deps import caller, gateway, new_meter, resolve_model, upstream_failure_metered
from .errors import ApiError
from .streaming import relay_translated, sse_response

router = APIRouter()

_PING = encode_sse("ping", {"type": "ping"})


def _message_id() -> str:
    return "msg_" + uuid.uuid4().hex[:24]


@router.post("/v1/messages/count_tokens", openapi_extra=json_body(ANTHROPIC_COUNT_TOKENS_BODY))
async def count_tokens(request: Request, _: KeyRecord = Depends(caller)) -> JSONResponse:
    """A local estimate (see ``estimate_input_tokens``): no upstream call and no cost."""
    gw = gateway(request)
    body = await read_json_object(request, gw.settings.max_body_bytes)
    require_str(body, "model")
    if not isinstance(body.get("messages"), list):
        raise ApiError(400, "'messages' must be an array", param="messages")
    try:
        return JSONResponse({"input_tokens": estimate_input_tokens(body)})
    except InvalidRequest as exc:
        raise ApiError(400, exc.message, param=exc.param) from None


@router.post("/v1/messages", response_model=None, openapi_extra=json_body(ANTHROPIC_MESSAGES_BODY))
async def messages(request: Request, key: KeyRecord = Depends(within_budget)) -> JSONResponse | StreamingResponse:
    gw = gateway(request)
    body = await read_json_object(request, gw.settings.max_body_bytes)
    requested = require_str(body, "model")
    optional_bool(body, "stream")
    model = await resolve_model(gw, requested)
    try:
        plan = anthropic_to_chat(body, upstream_model=model.id)
    except InvalidRequest as exc:
        raise ApiError(400, exc.message, param=exc.param) from None
    meter = new_meter(request, key, stream=plan.stream)
    meter.model, meter.pricing = model.id, model.pricing

    if not plan.stream:
        with upstream_failure_metered(gw, meter):
            response = await gw.upstream.chat(plan.body)
        message, usage = chat_to_anthropic(response, plan, message_id=_message_id())
        gw.recorder.submit(meter.record(usage, 200, gw.settings.pricing))
        return JSONResponse(message)
    with upstream_failure_metered(gw, meter):
        chunks = await gw.upstream.open_chat_stream(plan.body)
    translator = AnthropicStream(plan, message_id=_message_id(), input_tokens_estimate=estimate_input_tokens(body))
    return sse_response(relay_translated(gw, chunks, translator, meter, keepalive=_PING))
