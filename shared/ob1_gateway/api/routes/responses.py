"""OpenAI Responses ingress: ``POST /v1/responses`` (stream and not), translated to and from upstream chat
completions by the shared translator, with its stored state per key (``response_state``): ``store``,
``previous_response_id``, ``item_reference``. Retrieve, delete, ``input_items`` and ``input_tokens`` are
in responses_extra.py (buffered routes, which the stream function does not serve)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ...gateway import Gateway
from ...stores.base import KeyRecord
from ...translate.responses.responses_in import ResponsesPlan, responses_to_chat
from ...translate.responses.responses_items import new_response_id, stored_input_items
from ...translate.responses.responses_out import chat_to_response, public_view
from ...translate.responses.responses_stream import ResponsesStream
from ...translate.schema import ResponsesRequest, requested_model
from ...translate.sse import Event
from ..body import json_body
from ..deps import gateway, resolve_model
from ..pipeline import ChatCall, run_chat
from ..response_state import ResponseState
from ..streaming import KEEPALIVE_COMMENT

router = APIRouter()
log = logging.getLogger("ob1_gateway.api")
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})


def response_state(request: Request) -> ResponseState:
    gw = gateway(request)
    return ResponseState(gw.backends.response_store, gw.settings)


@router.post("/v1/responses", response_model=None, openapi_extra=json_body(ResponsesRequest))
async def responses(request: Request) -> JSONResponse | StreamingResponse:
    return await run_chat(request, _prepare)


async def _prepare(gw: Gateway, key: KeyRecord, body: dict[str, Any]) -> ChatCall:
    state = ResponseState(gw.backends.response_store, gw.settings)
    store = body.get("store") is not False and state.available
    continued = await state.continuation(key, body)  # what previous_response_id and item references bring
    plan = responses_to_chat(  # a bad body: 400 before a 404
        {**body, "input": continued.input},
        upstream_model=requested_model(body),
        history=continued.history,
        store=store,
        response_id=new_response_id(key.key_id, kept=store),
        web=gw.web.offered,
    )
    model = await resolve_model(gw, plan.model, key)
    plan.body["model"] = model.id
    # only a response that is kept needs its conversation in the shape input_items lists it
    inputs = continued.history + stored_input_items(continued.input, plan.ids) if store else []
    headers = {}
    if plan.tools.omitted:  # hosted tools the request offered but did not need (see translate.responses_tools)
        headers["x-ob1gw-omitted-tools"] = ",".join(plan.tools.omitted)
        log.info("POST /v1/responses: hosted tools omitted: %s", ", ".join(plan.tools.omitted))
    if continued.omitted:  # items of an unkept response, sent back by id without their content
        headers["x-ob1gw-omitted-items"] = ",".join(continued.omitted)
        log.info("POST /v1/responses: items of an unkept response omitted: %s", ", ".join(continued.omitted))
    created_at = int(time.time())
    return ChatCall(
        model,
        plan.body,
        plan.stream,
        shape=partial(chat_to_response, plan=plan, created_at=created_at),
        translator=partial(ResponsesStream, plan, created_at=created_at),
        keepalive=KEEPALIVE_COMMENT,
        finisher=_Storing(state, key, plan, inputs),
        headers=headers,
        web=plan.tools.web,
    )


@dataclass
class _Storing:
    """Stores a response once it is made and recorded, before the caller has it (``pipeline.Finisher``):
    the answer says ``store: false`` when that failed, and the caller sees ``encrypted_content`` only if it
    asked for it."""

    state: ResponseState
    key: KeyRecord
    plan: ResponsesPlan
    inputs: list[dict[str, Any]]

    async def _keep(self, response: dict[str, Any]) -> None:
        if self.plan.echo["store"] and not await self.state.keep(self.key, response, self.inputs):
            response["store"] = False

    async def answered(self, result: dict[str, Any]) -> dict[str, Any]:
        await self._keep(result)
        return public_view(result, include_encrypted=self.plan.include_encrypted)

    async def closing(self, stream: ResponsesStream, events: list[Event]) -> None:
        """Store the streamed response (the translator's last word) and say in its terminal event
        whether it was kept."""
        if stream.response is None:
            return
        await self._keep(stream.response)
        for name, data in events:
            if name in _TERMINAL and isinstance(data, dict):
                data["response"]["store"] = stream.response["store"]
