"""OpenAI ingress: ``POST /v1/chat/completions`` (the fields the gateway understands passed on, with
model resolution; translate/chat/chat_fields.py says which; usage is always requested upstream, and the
usage-only chunk is forwarded only when the client asked for it). The model list is in models.py."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ...gateway import Gateway
from ...stores.base import KeyRecord
from ...translate.chat.chat_citations import annotated_answer
from ...translate.chat.chat_fields import chat_upstream_fields, fallback_models, web_search_of
from ...translate.chat.chat_stream import ChatPassthrough
from ...translate.schema import ChatCompletionsRequest, validate
from ...translate.token_usage import Usage, usage_from_openai
from ...translate.web_tools import Step
from ..body import json_body
from ..deps import resolve_model
from ..pipeline import ChatCall, run_chat
from ..streaming import KEEPALIVE_COMMENT

router = APIRouter()


@router.post("/v1/chat/completions", response_model=None, openapi_extra=json_body(ChatCompletionsRequest))
async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
    return await run_chat(request, _prepare)


async def _prepare(gw: Gateway, key: KeyRecord, body: dict[str, Any]) -> ChatCall:
    validate(ChatCompletionsRequest, body)  # a bad body: 400 before a 404 for its model
    web = web_search_of(body, gw.web.offered)  # run by the gateway: it is not OpenRouter's paid plugin then
    allowed = gw.settings.chat_allowed_fields | ({"web_search_options"} if web else set())
    upstream_body = chat_upstream_fields(body, allowed)
    if web:
        del upstream_body["web_search_options"]
    stream = body.get("stream") is True
    model = await resolve_model(gw, body["model"], key)
    if "models" in upstream_body:  # an allowed fallback list: every entry is checked as the model is
        upstream_body["models"] = [(await resolve_model(gw, name, key)).id for name in fallback_models(body)]
    upstream_body |= {"model": model.id, "usage": {"include": True}}
    stream_options = raw_options if isinstance(raw_options := body.get("stream_options"), dict) else {}
    client_wants_usage = bool(stream_options.get("include_usage"))
    if stream:
        upstream_body["stream_options"] = {**stream_options, "include_usage": True}
    else:
        upstream_body.pop("stream_options", None)
    asked = body["model"]
    passthrough = partial(ChatPassthrough, client_wants_usage=client_wants_usage, model=asked)
    shape = partial(_as_is, asked)
    return ChatCall(model, upstream_body, stream, shape, passthrough, keepalive=KEEPALIVE_COMMENT, web=web)


def _as_is(asked: str, response: dict[str, Any], steps: Sequence[Step] = ()) -> tuple[dict[str, Any], Usage]:
    """A chat completion goes back as it came, its ``model`` the name asked for (as every route answers; the
    serving model is in ``x-ob1gw-model``); its usage is metered. After the gateway's web searches (``steps``),
    with their citations."""
    response = annotated_answer(response, steps)
    if "model" in response:
        response["model"] = asked
    return response, usage_from_openai(response.get("usage"))
