"""The Responses API's other routes: retrieve, delete, cancel and ``input_items`` of a stored response,
``input_tokens`` (a local estimate) and ``compact`` (refused). All buffered; ``POST /v1/responses`` is in
responses.py."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ...stores.base import KeyRecord
from ...translate.responses.responses_in import responses_to_chat
from ...translate.responses.responses_out import public_view
from ...translate.schema import ResponsesRequest
from ...translate.token_count import estimate_chat_tokens
from ..body import json_body, read_json_object
from ..deps import gateway, resolve_model
from ..errors import ApiError
from ..request_admission import caller
from .responses import response_state

router = APIRouter()
ENCRYPTED = "reasoning.encrypted_content"


def included(request: Request) -> list[str]:
    """The ``include`` query values, as the openai SDK sends them (``include[]=``) or repeated plainly."""
    return request.query_params.getlist("include[]") + request.query_params.getlist("include")


@router.get("/v1/responses/{response_id}", response_model=None)
async def retrieve(
    request: Request,
    response_id: str,
    stream: bool = False,
    key: KeyRecord = Depends(caller),
) -> JSONResponse:
    stored = await response_state(request).load(key, response_id)
    if stream:  # checked after the lookup: an unknown id is a 404 either way
        raise ApiError(
            400,
            "stream=true replays a background response; this gateway answers every response at once, "
            "so retrieve it without stream",
            param="stream",
        )
    return JSONResponse(public_view(stored.response, include_encrypted=ENCRYPTED in included(request)))


@router.delete("/v1/responses/{response_id}")
async def delete(request: Request, response_id: str, key: KeyRecord = Depends(caller)) -> JSONResponse:
    await response_state(request).delete(key, response_id)
    return JSONResponse({"id": response_id, "object": "response.deleted", "deleted": True})


@router.post("/v1/responses/{response_id}/cancel")
async def cancel(request: Request, response_id: str, key: KeyRecord = Depends(caller)) -> JSONResponse:
    stored = await response_state(request).load(key, response_id)
    status = stored.response.get("status")
    message = f"Only background responses can be cancelled; response '{response_id}' is {status}."
    raise ApiError(400, message, code="not_cancellable")


@router.get("/v1/responses/{response_id}/input_items")
async def input_items(
    request: Request,
    response_id: str,
    order: Literal["asc", "desc"] = "desc",
    limit: int = Query(default=20, ge=1, le=100),
    after: str | None = None,
    key: KeyRecord = Depends(caller),
) -> JSONResponse:
    stored = await response_state(request).load(key, response_id)
    items = stored.input_items if order == "asc" else stored.input_items[::-1]
    if after is not None:
        ids = [item.get("id") for item in items]
        if after not in ids:
            raise ApiError(400, f"after: no input item '{after}' in response '{response_id}'", param="after")
        items = items[ids.index(after) + 1 :]
    page = public_view({"output": items[:limit]}, include_encrypted=ENCRYPTED in included(request))["output"]
    return JSONResponse(
        {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        }
    )


@router.post("/v1/responses/input_tokens", openapi_extra=json_body(ResponsesRequest))
async def input_tokens(request: Request, key: KeyRecord = Depends(caller)) -> JSONResponse:
    """A local estimate, like ``/v1/messages/count_tokens``: the body is resolved (stored state included)
    and translated exactly as ``POST /v1/responses`` would; no upstream call and no cost."""
    gw = gateway(request)
    body = await read_json_object(request, gw.settings)
    if body.get("input") in (None, "", []) and not body.get("previous_response_id"):
        return JSONResponse({"object": "response.input_tokens", "input_tokens": 0})
    continued = await response_state(request).continuation(key, body)
    model = body.get("model")
    resolved = {**body, "model": model or "unnamed", "input": continued.input}
    plan = responses_to_chat(resolved, upstream_model=str(resolved["model"]), history=continued.history)
    if model:
        await resolve_model(gw, plan.model, key)
    return JSONResponse({"object": "response.input_tokens", "input_tokens": estimate_chat_tokens(plan.body)})


@router.post("/v1/responses/compact")
async def compact(_: Request, key: KeyRecord = Depends(caller)) -> JSONResponse:
    raise ApiError(
        404,
        "POST /v1/responses/compact is not available through this gateway: continue with previous_response_id "
        "(the whole conversation is replayed) or send a shorter input",
        code="unsupported_endpoint",
    )
