"""Anthropic ingress: ``POST /v1/messages`` (stream and not), translated to and from upstream chat
completions by the shared translator. (``count_tokens`` is in count_tokens.py: the stream function
serves only this route of the two, see ``app.STREAM_ROUTERS``.)"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ...gateway import Gateway
from ...stores.base import KeyRecord
from ...translate.anthropic.anthropic_in import anthropic_to_chat
from ...translate.anthropic.anthropic_out import chat_to_anthropic
from ...translate.anthropic.anthropic_stream import AnthropicStream
from ...translate.schema import AnthropicMessagesRequest, requested_model
from ...translate.sse import encode_sse
from ...translate.token_count import estimate_input_tokens
from ...upstream.catalog import Model
from ..body import json_body
from ..deps import resolve_model
from ..pipeline import ChatCall, run_chat

router = APIRouter()

_PING = encode_sse("ping", {"type": "ping"})


def _message_id() -> str:
    return "msg_" + uuid.uuid4().hex[:24]


async def model_for(gw: Gateway, body: dict[str, Any], key: KeyRecord) -> Model:
    """The body's upstream model; a malformed body is a 400 before an unknown model is a 404."""
    requested = requested_model(body)
    validate = lambda: anthropic_to_chat(body, upstream_model=requested, web=gw.web.offered)  # noqa: E731
    return await resolve_model(gw, requested, key, validate=validate)


@router.post("/v1/messages", response_model=None, openapi_extra=json_body(AnthropicMessagesRequest))
async def messages(request: Request) -> JSONResponse | StreamingResponse:
    return await run_chat(request, _prepare)


async def _prepare(gw: Gateway, key: KeyRecord, body: dict[str, Any]) -> ChatCall:
    model = await model_for(gw, body, key)
    plan = anthropic_to_chat(body, upstream_model=model.id, limits=model.limits, web=gw.web.offered)

    def stream() -> AnthropicStream:
        return AnthropicStream(plan, message_id=_message_id(), input_tokens_estimate=estimate_input_tokens(body))

    answer = partial(chat_to_anthropic, plan=plan, message_id=_message_id())
    return ChatCall(model, plan.body, plan.stream, answer, stream, keepalive=_PING, web=plan.web)
