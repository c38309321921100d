"""OpenAI Responses ingress: ``POST /v1/responses`` (stream and not), translated to and from upstream
chat completions by the shared translator. Stateless: ``store`` is accepted but nothing is kept, so
``previous_response_id`` is refused with a 400 (see ``translate.responses_in``)."""

from __future__ import annotations

import time
from functools import partial

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..stores.base import KeyRecord
from ..translate.responses_in import responses_to_chat
from ..translate.responses_out import chat_to_response, new_id
from ..translate.responses_stream import ResponsesStream
from ..translate.schema import ResponsesRequest, requested_model
from .body import json_body, read_json_object
from .budget import within_budget
from .deps import gateway, resolve_model
from .pipeline import complete_chat
from .streaming import KEEPALIVE_COMMENT

router = APIRouter()


@router.post("/v1/responses", response_model=None, openapi_extra=json_body(ResponsesRequest))
async def responses(request: Request, key: KeyRecord = Depends(within_budget)) -> JSONResponse | StreamingResponse:
    gw = gateway(request)
    body = await read_json_object(request, gw.settings)
    plan = responses_to_chat(body, upstream_model=requested_model(body))  # a bad body: 400 before a 404
    model = await resolve_model(gw, plan.model, key)
    plan.body["model"] = model.id
    answer = partial(chat_to_response, plan=plan, response_id=new_id("resp"), created_at=int(time.time()))
    stream = partial(ResponsesStream, plan, response_id=new_id("resp"))
    return await complete_chat(request, key, model, plan.body, plan.stream, answer, stream, KEEPALIVE_COMMENT)
