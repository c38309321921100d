"""FastAPI dependencies shared by the routers: the gateway, the caller's key, admission, the model."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import cast

from fastapi import Request

from ..access.budgets import BudgetGuard
from ..access.rate_limits import RateLimited
from ..gateway import Gateway
from ..metering.recorder import RequestMeter
from ..stores.base import KeyRecord
from ..translate.error_bodies import client_status_for_upstream
from ..upstream.catalog import Model, ModelNotFound
from ..upstream.client import UpstreamError
from .errors import ApiError, speaks_anthropic
from .refusals import check_model_allowed, rate_limited_error
from .request_id import new_request_id, remember_request_id
from .settlement import Settlement


def gateway(request: Request) -> Gateway:
    return cast(Gateway, request.app.state.gateway)


async def caller(request: Request) -> KeyRecord:
    return await gateway(request).auth.authenticate(request)


async def admit(request: Request, key: KeyRecord, *, stream: bool) -> RequestMeter:
    """Admit the request under its key's rate limits (429 otherwise) and start metering it. From here on
    the request ends in exactly one usage record, which also frees what the admission took."""
    meter = RequestMeter(
        request_id=new_request_id(), key_id=key.key_id, route=request.scope["path"], stream=stream, key_name=key.name
    )
    budgets: BudgetGuard | None = getattr(request.app.state, "budgets", None)
    if budgets is not None and key.budget_usd is not None:
        meter.budget_share = partial(budgets.share_after, key)
    gw = gateway(request)
    try:
        await gw.limiter.admit(key, meter.request_id)
    except RateLimited as exc:
        raise rate_limited_error(speaks_anthropic(request.scope["path"], request.headers), exc) from None
    remember_request_id(request, meter.request_id)
    Settlement(gw, meter).register(request.scope)
    return meter


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
