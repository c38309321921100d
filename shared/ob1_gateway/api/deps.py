"""What the routes share besides admission (admission.py): the gateway, the model a request may use, and
an upstream refusal as the caller's API error."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from fastapi import Request

from ..gateway import Gateway
from ..stores.base import KeyRecord
from ..translate.error_bodies import client_status_for_upstream
from ..upstream.catalog import Model, ModelNotFound
from ..upstream.client import UpstreamError
from .access_errors import check_model_allowed
from .errors import ApiError


def gateway(request: Request) -> Gateway:
    return cast(Gateway, request.app.state.gateway)


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
