"""OpenAI ingress: ``GET /v1/models`` and ``POST /v1/chat/completions`` (pass-through with model
resolution; usage is always requested upstream, and the usage-only chunk is forwarded only when the
client asked for it)."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..keys import model_allowed
from ..stores.base import KeyRecord
from ..translate.anthropic_models import anthropic_model, anthropic_model_page
from ..translate.chat_stream import ChatPassthrough
from ..translate.schema import ChatCompletionsRequest, validate
from ..translate.usage import Usage, usage_from_openai
from ..upstream.client import UpstreamError
from .body import json_body, read_json_object
from .budget import within_budget
from .deps import caller, gateway, resolve_model, upstream_api_error
from .errors import speaks_anthropic
from .pipeline import complete_chat
from .streaming import KEEPALIVE_COMMENT

router = APIRouter()


@router.get("/v1/models")
async def list_models(request: Request, key: KeyRecord = Depends(caller)) -> JSONResponse:
    """OpenAI's list shape, or Anthropic's paged one (``anthropic_model_page``) for an Anthropic caller;
    only the models the key may use."""
    gw = gateway(request)
    try:
        models = [m for m in await gw.catalog.listing() if model_allowed(key.policy, m["id"])]
    except UpstreamError as exc:
        raise upstream_api_error(exc) from None
    if speaks_anthropic(request.url.path, request.headers):
        query = request.query_params
        page = anthropic_model_page(
            models,
            limit=query.get("limit"),
            after_id=query.get("after_id"),
            before_id=query.get("before_id"),
            lifecycle=query.getlist("lifecycle[]") + query.getlist("lifecycle") or None,
        )
        return JSONResponse(page)
    data = [
        {**m, "object": "model", "created": m.get("created") or 0, "owned_by": m["id"].split("/", 1)[0]} for m in models
    ]
    return JSONResponse({"object": "list", "data": data})


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, request: Request, key: KeyRecord = Depends(caller)) -> JSONResponse:
    """One model, in Anthropic's shape for an Anthropic caller (the SDK's ``models.retrieve``), else OpenAI's."""
    model = await resolve_model(gateway(request), model_id, key)
    raw = model.raw or {"id": model.id}
    if speaks_anthropic(request.url.path, request.headers):
        return JSONResponse(anthropic_model(raw))
    return JSONResponse({**raw, "object": "model", "created": model.created, "owned_by": model.id.split("/", 1)[0]})


@router.post("/v1/chat/completions", response_model=None, openapi_extra=json_body(ChatCompletionsRequest))
async def chat_completions(
    request: Request, key: KeyRecord = Depends(within_budget)
) -> JSONResponse | StreamingResponse:
    gw = gateway(request)
    body = await read_json_object(request, gw.settings)
    validate(ChatCompletionsRequest, body)  # a bad body: 400 before a 404 for its model
    stream = body.get("stream") is True
    model = await resolve_model(gw, body["model"], key)
    upstream_body = {**body, "model": model.id, "usage": {"include": True}}
    stream_options = raw_options if isinstance(raw_options := body.get("stream_options"), dict) else {}
    client_wants_usage = bool(stream_options.get("include_usage"))
    if stream:
        upstream_body["stream_options"] = {**stream_options, "include_usage": True}
    else:
        upstream_body.pop("stream_options", None)
    passthrough = partial(ChatPassthrough, client_wants_usage=client_wants_usage)
    return await complete_chat(
        request, key, model, upstream_body, stream, _as_is, passthrough, keepalive=KEEPALIVE_COMMENT
    )


def _as_is(response: dict[str, Any]) -> tuple[dict[str, Any], Usage]:
    """A chat completion goes back unchanged; its usage is metered."""
    return response, usage_from_openai(response.get("usage"))
