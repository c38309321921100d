"""Every request is visible to the operator, refused ones too.

A metered request (admitted, and its body prepared for the upstream: ``settlement.start_metering``) ends in
a usage record, which is its log line ("usage", metering/) and its metrics. Every other request — a
malformed body, an unknown or forged key, an unknown model, an exhausted budget, ``GET /v1/models`` — is
described here as it ends: one ``request`` log line (method, path, status, the key's name when its secret
matched, the reason in a few words, never a secret) and one event for the metric listeners (Prometheus on
``ob1gw serve``, EMF on AWS). The reason is the error message the client got (shortened), so the log says
exactly what the caller was told. Successful ``/health`` and ``/metrics`` calls (probes and scrapes) are not logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import asdict
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect

from ..telemetry.request_event import RequestListener, UnmeteredRequest
from .errors import ApiError, error_response
from .request_id import metered_request_id, new_request_id
from .settlement import settle_request

__all__ = ["RequestLog", "route_label"]

log = logging.getLogger("ob1_gateway.requests")
log_unhandled = logging.getLogger("ob1_gateway.errors")  # where these were always logged

_QUIET = frozenset({"/health", "/metrics"})  # probes and scrapes: not logged when they succeed
_ERROR_BODY_LIMIT = 16_384  # an error body is a small JSON object; never buffer more than this
_REASON_LIMIT = 160
_PATH_LIMIT = 200


def route_label(scope: dict[str, Any]) -> str:
    """The path template of the route that matched (``/v1/models/{model_id:path}``), else ``other``."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path.startswith("/v1/") else "other"


def reason_of(body: bytes) -> str:
    """The error message of an error body in either API's shape, cut to its first sentence."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str):
        return ""
    first = message.partition(". ")[0]
    reason = " ".join(first.split())
    return reason if len(reason) <= _REASON_LIMIT else reason[: _REASON_LIMIT - 1] + "…"


def _client_gone(exc: Exception, status: int) -> bool:
    """The client's connection failed under the app: a body it never finished (``ClientDisconnect``), or a
    send that failed once the response had started. An ``OSError`` before that is the gateway's own."""
    return isinstance(exc, ClientDisconnect) or (isinstance(exc, OSError) and status != 0)


class RequestLog:
    """ASGI middleware: the request-id headers on every response, an unmetered request's log line and
    metric event, and the last resort for an exception that escaped every handler (one middleware, so one
    ``send`` wrapper for each message of a stream instead of one per job)."""

    def __init__(self, app: Any, listeners: Sequence[RequestListener] = ()) -> None:
        self.app = app
        self.listeners = listeners

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        fresh_id = ""
        status = 0
        error_body = bytearray()

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            nonlocal fresh_id, status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                request_id = metered_request_id(scope)
                if request_id is None:
                    request_id = fresh_id = new_request_id()
                value = request_id.encode()
                message["headers"] = [*message.get("headers", []), (b"request-id", value), (b"x-request-id", value)]
            elif (
                message["type"] == "http.response.body"
                and fresh_id
                and status >= 400
                and len(error_body) < _ERROR_BODY_LIMIT
            ):
                error_body.extend(message.get("body", b"")[: _ERROR_BODY_LIMIT - len(error_body)])
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if _client_gone(exc, status):  # nothing to answer, nothing broke
                status = status if status >= 400 else 499
            else:  # escaped every handler: a 500 in the API's shape, logged, never re-raised
                log_unhandled.error(
                    "unhandled %s on %s %s", type(exc).__name__, scope.get("method"), scope.get("path"), exc_info=exc
                )
                if not status:  # else the response was already started: it is cut short
                    error = ApiError(500, "internal gateway error")
                    await error_response(scope.get("path", ""), Headers(scope=scope), error)(
                        scope, receive, send_with_id
                    )
        finally:
            await settle_request(scope, status)
            if fresh_id and not (status < 400 and scope.get("path") in _QUIET):
                self._observe(scope, fresh_id, status, bytes(error_body), started)

    def _observe(self, scope: dict[str, Any], request_id: str, status: int, body: bytes, started: float) -> None:
        state = scope.get("state") or {}
        seen = UnmeteredRequest(
            request_id=request_id,
            method=str(scope.get("method", "")),
            path=str(scope.get("path", ""))[:_PATH_LIMIT],
            route=route_label(scope),
            status=status,
            key_id=str(state.get("key_id", "")),
            key_name=str(state.get("key_name", "")),
            reason=reason_of(body) if body else "",
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        # The message stays exactly "request": the dashboard's Logs Insights queries select on it.
        log.info("request", extra={"request": asdict(seen)})
        for listener in self.listeners:
            try:
                listener(seen)
            except Exception as exc:  # metrics must never fail a request
                log.warning("request listener failed: %s", type(exc).__name__)
