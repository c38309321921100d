"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar, overload

from fastapi import Request

from ..metering import RequestMeter
from ..ratelimit import RateLimited
from ..runtime import Gateway
from ..stores.base import KeyRecord
from ..translate.errors import client_status_for_upstream
from ..translate.system_hoist import hoist_system_messages
from ..translate.usage import Usage, usage_from_openai
from ..upstream.catalog import Model, ModelNotFound
from ..upstream.client import ChatStream, UpstreamError
from .errors import ApiError
from .limits import check_model_allowed, rate_limited_error
from .request_id import remember_request_id

log = logging.getLogger("ob1_gateway.api")
R = TypeVar("R")


def gateway(request: Request) -> Gateway:
    return request.app.state.gateway


async def caller(request: Request) -> KeyRecord:
    return await gateway(request).auth.authenticate(request)


async def admit(request: Request, key: KeyRecord, *, stream: bool) -> RequestMeter:
    """Admit the request under its key's rate limits (429 otherwise) and start metering it. From here on
    the request ends in exactly one usage record, which also frees what the admission took."""
    meter = RequestMeter(
        request_id=uuid.uuid4().hex, key_id=key.key_id, route=request.url.path, stream=stream, key_name=key.name
    )
    try:
        await gateway(request).limiter.admit(key, meter.request_id)
    except RateLimited as exc:
        raise rate_limited_error(request.url.path, exc) from None
    remember_request_id(request, meter.request_id)
    return meter


@contextmanager
def upstream_failure_metered(gw: Gateway, meter: RequestMeter) -> Iterator[None]:
    """A request that fails before any byte is still a request: an upstream refusal is recorded (no
    tokens) with its status and answered with the API's own error; a gateway bug is recorded as 500
    and left to the catch-all, which answers 500 in the API's shape."""
    try:
        yield
    except UpstreamError as exc:
        gw.recorder.submit(meter.record(Usage(), exc.status, gw.settings.pricing))
        raise upstream_api_error(exc) from None
    except Exception:
        gw.recorder.submit(meter.record(Usage(), 500, gw.settings.pricing))
        raise


async def answer(
    gw: Gateway, meter: RequestMeter, body: dict[str, Any], shape: Callable[[dict[str, Any]], tuple[R, Usage]]
) -> R:
    """A non-stream request: send it, ``shape`` the upstream's answer for the caller, and return only once
    its usage record is durable (a crash after the caller has its answer must not lose the record).
    If shaping fails, what the upstream charged is still recorded, with status 500."""
    with upstream_failure_metered(gw, meter):
        response = await send_chat(gw, body, stream=False)
    try:
        result, usage = shape(response)
    except Exception:
        gw.recorder.submit(meter.record(usage_from_openai(response.get("usage")), 500, gw.settings.pricing))
        raise
    await gw.recorder.write(meter.record(usage, 200, gw.settings.pricing))
    return result


def upstream_api_error(error: UpstreamError) -> ApiError:
    headers = {"retry-after": error.retry_after} if error.retry_after else None
    return ApiError(client_status_for_upstream(error.status), error.message, headers=headers)


async def resolve_model(
    gw: Gateway, name: str, key: KeyRecord, *, validate: Callable[[], object] | None = None
) -> Model:
    """The upstream model for ``name``, if ``key`` may use it (403 otherwise). When it cannot be had,
    ``validate`` runs first, so a malformed body is answered 400 before a 404 for its model, as the real
    APIs do (at no cost when all is well)."""
    try:
        model = await gw.catalog.resolve(name)
        check_model_allowed(key, name, model)
        return model
    except ModelNotFound as exc:
        failure = ApiError(404, str(exc), param="model", code="model_not_found")
    except UpstreamError as exc:
        failure = upstream_api_error(exc)
    if validate is not None:
        validate()
    raise failure


@overload
async def send_chat(gw: Gateway, body: dict[str, Any], *, stream: Literal[False]) -> dict[str, Any]: ...
@overload
async def send_chat(gw: Gateway, body: dict[str, Any], *, stream: Literal[True]) -> ChatStream: ...
async def send_chat(gw: Gateway, body: dict[str, Any], *, stream: bool) -> dict[str, Any] | ChatStream:
    """Send a chat body upstream. An upstream that refuses (400) a body with system messages after the
    first turn gets it once more with them merged into the leading one (a 400 is not charged)."""
    send = gw.upstream.open_chat_stream if stream else gw.upstream.chat
    try:
        return await send(body)
    except UpstreamError as exc:
        hoisted = hoist_system_messages(body) if exc.status == 400 else None
        if hoisted is None:
            raise
    log.info("upstream refused system messages after the first turn; sending them merged into the first")
    return await send(hoisted)
