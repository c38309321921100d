"""``GET /metrics`` (Prometheus) for the operator of ``ob1gw serve``: off unless ``OB1GW_METRICS_TOKEN`` is
set, and then only for a bearer of that token. Callers' keys never open it: usage by key is the admin's."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request, Response

from ..errors import ApiError

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    exporter = getattr(request.app.state, "metrics", None)
    token = request.app.state.gateway.settings.metrics_token
    if exporter is None or token is None:
        raise ApiError(404, "no route for GET /metrics (set OB1GW_METRICS_TOKEN to enable it)")
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    # Bytes, not str: compare_digest refuses a non-ASCII str, and a header may hold any latin-1 byte.
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode("latin-1"), expected):
        raise ApiError(401, "GET /metrics needs 'Authorization: Bearer <OB1GW_METRICS_TOKEN>'")
    from ...telemetry.prometheus import CONTENT_TYPE

    return Response(await asyncio.to_thread(exporter.render), media_type=CONTENT_TYPE)
