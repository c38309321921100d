"""``POST /v1/messages/count_tokens``: Anthropic's token count, estimated locally (no upstream call)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...stores.base import KeyRecord
from ...translate.anthropic.anthropic_in import anthropic_to_chat
from ...translate.schema import AnthropicCountTokensRequest
from ...translate.token_count import estimate_input_tokens
from ..body import json_body, read_json_object
from ..deps import gateway
from ..request_admission import caller
from .anthropic import model_for

router = APIRouter()


@router.post("/v1/messages/count_tokens", openapi_extra=json_body(AnthropicCountTokensRequest))
async def count_tokens(request: Request, key: KeyRecord = Depends(caller)) -> JSONResponse:
    """A local estimate (see ``estimate_input_tokens``): no upstream call and no cost. The body is
    validated and translated exactly as ``/v1/messages`` would (it has no ``max_tokens`` of its own)."""
    gw = gateway(request)
    body = await read_json_object(request, gw.settings)
    as_message = {**body, "max_tokens": 1}
    model = await model_for(gw, as_message, key)
    anthropic_to_chat(as_message, upstream_model=model.id, limits=model.limits, web=gw.web.offered)
    return JSONResponse({"input_tokens": estimate_input_tokens(body)})
