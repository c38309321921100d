"""``GET /v1/models`` and ``GET /v1/models/{id}``: the models a key may use, in OpenAI's shape or, for an
Anthropic caller, Anthropic's."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...access.keys import model_allowed
from ...stores.base import KeyRecord
from ...translate.anthropic.anthropic_models import anthropic_model, anthropic_model_page
from ...upstream.client import UpstreamError
from ..deps import gateway, resolve_model, upstream_api_error
from ..errors import speaks_anthropic
from ..request_admission import caller

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
