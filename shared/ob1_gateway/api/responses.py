"""OpenAI Responses ingress: ``POST /v1/responses`` (stream and not), translated to and from upstream chat
completions by the shared translator, with its stored state per key (``response_state``): ``store``,
``previous_response_id``, ``item_reference``; retrieve, delete and ``input_items``; ``input_tokens``."""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..stores.base import KeyRecord
from ..translate.responses_in import ResponsesPlan, responses_to_chat
from ..translate.responses_items import stored_input_items
from ..translate.responses_out import chat_to_response, public_view
from ..translate.responses_stream import ResponsesStream
from ..translate.schema import ResponsesRequest, requested_model
from ..translate.sse import Event
from ..translate.token_count import estimate_chat_tokens
from ..translate.usage import Usage
from .body import json_body, read_json_object
from .budget import within_budget
from .deps import caller, gateway, resolve_model
from .errors import ApiError
from .pipeline import complete_chat
from .response_state import ResponseState
from .streaming import KEEPALIVE_COMMENT

router = APIRouter()
log = logging.getLogger("ob1_gateway.api")
_ENCRYPTED = "reasoning.encrypted_content"
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})


def included(request: Request) -> list[str]:
    """The ``include`` query values, as the openai SDK sends them (``include[]=``) or repeated plainly."""
    return request.query_params.getlist("include[]") + request.query_params.getlist("include")


def response_state(request: Request) -> ResponseState:
    gw = gateway(request)
    return ResponseState(gw.backends.response_store, gw.settings)


@router.post("/v1/responses", response_model=None, openapi_extra=json_body(ResponsesRequest))
async def responses(request: Request, key: KeyRecord = Depends(within_budget)) -> JSONResponse | StreamingResponse:
    gw = gateway(request)
    body = await read_json_object(request, gw.settings)
    state = response_state(request)
    store = body.get("store") is not False and state.available
    continued = await state.continuation(key, body)
    resolved = {**body, "input": continued.input}
    plan = responses_to_chat(  # a bad body: 400 before a 404
        resolved, upstream_model=requested_model(body), history=continued.history, store=store
    )
    model = await resolve_model(gw, plan.model, key)
    plan.body["model"] = model.id
    # only a response that is kept needs its conversation in the shape input_items lists it
    inputs = continued.history + stored_input_items(continued.input, plan.ids) if store else []
    kept = _Keeper(state, key, plan, inputs)
    created_at = int(time.time())

    def answer(upstream: dict[str, Any]) -> tuple[Any, Usage]:
        return chat_to_response(upstream, plan, created_at=created_at)

    def stream() -> ResponsesStream:
        kept.stream = ResponsesStream(plan, created_at=created_at)
        return kept.stream

    response = await complete_chat(request, key, model, plan.body, plan.stream, answer, stream, KEEPALIVE_COMMENT, kept)
    if plan.tools.omitted:  # hosted tools the request offered but did not need (see translate.responses_tools)
        response.headers["x-ob1gw-omitted-tools"] = ",".join(plan.tools.omitted)
        log.info("POST /v1/responses: hosted tools omitted: %s", ", ".join(plan.tools.omitted))
    return response


class _Keeper:
    """Stores a response once it is made (``pipeline.Finisher``); the answer says ``store: false`` when
    that failed, and the caller sees ``encrypted_content`` only if it asked for it."""

    def __init__(self, state: ResponseState, key: KeyRecord, plan: ResponsesPlan, inputs: list[dict[str, Any]]):
        self.state, self.key, self.plan, self.inputs = state, key, plan, inputs
        self.stream: ResponsesStream | None = None

    async def _keep(self, response: dict[str, Any]) -> None:
        if self.plan.echo["store"] and not await self.state.keep(self.key, response, self.inputs):
            response["store"] = False

    async def answered(self, result: Any) -> Any:
        await self._keep(result)
        return public_view(result, include_encrypted=self.plan.include_encrypted)

    async def closing(self, events: list[Event]) -> None:
        final = self.stream.response if self.stream is not None else None
        if final is None:
            return
        await self._keep(final)
        for name, data in events:
            if name in _TERMINAL and isinstance(data, dict):
                data["response"]["store"] = final["store"]


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
    return JSONResponse(public_view(stored.response, include_encrypted=_ENCRYPTED in included(request)))


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
    page = public_view({"output": items[:limit]}, include_encrypted=_ENCRYPTED in included(request))["output"]
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
