"""Admission in the HTTP layer: the key a request presents (``x-api-key`` or ``Authorization: Bearer``),
handed to ``Access`` (access/admission.py), its refusals worded in the caller's API. ``admit`` is called
once per spending request, by the pipeline; ``caller`` authenticates the routes that spend nothing."""

from __future__ import annotations

from functools import partial

from fastapi import Request

from ..access.authenticator import KeyRefused
from ..access.budgets import BudgetExceeded
from ..access.rate_limits import RateLimited
from ..metering.meter import RequestMeter
from ..stores.base import KeyRecord
from .access_errors import admission_error
from .client_session import client_session
from .deps import gateway
from .errors import speaks_anthropic
from .request_id import new_request_id, remember_key
from .settlement import Settlement

__all__ = ["admit", "caller", "presented_key"]


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _refused(request: Request, exc: KeyRefused | BudgetExceeded | RateLimited) -> Exception:
    return admission_error(exc, speaks_anthropic(request.scope["path"], request.headers))


async def caller(request: Request) -> KeyRecord:
    """The caller's key, for a route that spends nothing (401/403 otherwise)."""
    try:
        return await gateway(request).access.authenticate(presented_key(request), partial(remember_key, request))
    except KeyRefused as exc:
        raise _refused(request, exc) from None


async def admit(request: Request) -> tuple[KeyRecord, RequestMeter]:
    """Admit a request that spends (key, budget, rate limits, in that order) and start its meter. From here
    on it ends in exactly one usage record or, if it never goes upstream, frees its slots without one
    (``Settlement``)."""
    gw = gateway(request)
    request_id = new_request_id()
    try:
        key = await gw.access.admit(presented_key(request), request_id, partial(remember_key, request))
    except (KeyRefused, BudgetExceeded, RateLimited) as exc:
        raise _refused(request, exc) from None
    meter = RequestMeter(
        request_id=request_id,
        key_id=key.key_id,
        route=request.scope["path"],
        stream=False,
        key_name=key.name,
        budget_share=gw.access.budget_share(key),
        session_id=client_session(request.headers),
    )
    Settlement(gw, meter).register(request.scope)
    return key, meter
