"""What the routes share besides admission (request_admission.py): the gateway, the model a request may use,
and an upstream refusal as the caller's API error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from fastapi import Request

from ..gateway import Gateway
from ..stores.base import KeyRecord
from ..translate.error_bodies import client_status_for_upstream
from ..translate.upstream_refusals import CONTEXT_LENGTH_EXCEEDED, context_overflow
from ..upstream.catalog import Model, ModelNotFound
from ..upstream.client import UpstreamError
from .access_errors import check_model_allowed
from .errors import ApiError


def gateway(request: Request) -> Gateway:
    return cast(Gateway, request.app.state.gateway)


@dataclass(frozen=True)
class PromptSize:
    """What the gateway knows of a prompt's size, for an overflow the upstream words without numbers."""

    context_length: int | None
    estimate: Callable[[], int]


# Statuses a client retries on its own (the SDKs and Claude Code: 408, 409, 429, >= 500).
_RETRYABLE = frozenset({408, 409, 429})


def upstream_api_error(error: UpstreamError, *, anthropic: bool = False, prompt: PromptSize | None = None) -> ApiError:
    """An upstream refusal in the words the caller's API (``anthropic`` or OpenAI's) uses for it, so that a
    client's own recovery matches: an overflow as Anthropic's ``prompt is too long: N tokens > M maximum`` or
    OpenAI's ``context_length_exceeded``; overload as Anthropic's 529 ``overloaded_error`` or OpenAI's 503;
    the retryable statuses marked ``x-should-retry: true`` with the upstream's ``retry-after``. Any other
    refusal keeps the upstream's message, which names the field or capability it refused."""
    status = client_status_for_upstream(error.status)
    overflow = context_overflow(error.message) if status in (400, 413) else None
    if overflow is not None:
        if not anthropic:
            return ApiError(400, error.message, param="messages", code=CONTEXT_LENGTH_EXCEEDED)
        size = prompt or PromptSize(None, lambda: 0)
        return ApiError(400, overflow.anthropic_message(size.estimate(), size.context_length))
    if status in (503, 529) and error.answered:  # an overloaded upstream (not the gateway without a login)
        status = 529 if anthropic else 503
    headers = {"retry-after": error.retry_after} if error.retry_after else {}
    if error.answered and (status in _RETRYABLE or status >= 500):
        headers["x-should-retry"] = "true"
    return ApiError(status, error.message, headers=headers)


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
