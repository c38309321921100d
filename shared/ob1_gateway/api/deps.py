"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request

from ..metering import RequestMeter
from ..runtime import Gateway
from ..stores.base import KeyRecord
from ..translate.errors import client_status_for_upstream
from ..translate.usage import Usage
from ..upstream.catalog import Model, ModelNotFound
from ..upstream.client import UpstreamError
from .errors import ApiError


def gateway(request: Request) -> Gateway:
    return request.app.state.gateway


async def caller(request: Request) -> KeyRecord:
    return await gateway(request).auth.authenticate(request)


def new_meter(request: Request, key: KeyRecord, *, stream: bool) -> RequestMeter:
    return RequestMeter(request_id=uuid.uuid4().hex, key_id=key.key_id, route=request.url.path, stream=stream)


@contextmanager
def upstream_failure_metered(gw: Gateway, meter: RequestMeter) -> Iterator[None]:
    """An upstream refusal before any byte is still a request: record it (no tokens) with its status,
    then answer with the API's own error."""
    try:
        yield
    except UpstreamError as exc:
        gw.recorder.submit(meter.record(Usage(), exc.status, gw.settings.pricing))
        raise upstream_api_error(exc) from None


def upstream_api_error(error: UpstreamError) -> ApiError:
    headers = {"retry-after": error.retry_after} if error.retry_after else None
    return ApiError(client_status_for_upstream(error.status), error.message, headers=headers)


async def resolve_model(gw: Gateway, name: str) -> Model:
    try:
        return await gw.catalog.resolve(name)
    except ModelNotFound as exc:
        raise ApiError(404, str(exc), param="model", code="model_not_found") from None
    except UpstreamError as exc:
        raise upstream_api_error(exc) from None
