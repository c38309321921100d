"""Lambda glue for the AWS deployment: make usage writes finish before the invocation does.

The app writes usage off the client's critical path (tracked tasks, see metering/recorder.py). On a server
that is fine; on Lambda the execution environment is frozen as soon as the response ends (Mangum
returns, or LWA sees the last streamed byte), so a write still in flight would stall until some
later invocation thaws it, or be lost with the environment. This wrapper holds the final body
message until pending writes are done: the client has every content byte already, only the end of
the response waits (one DynamoDB transaction), and the record is durable when Lambda freezes.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class UsageFlushingApp:
    """ASGI wrapper: await ``drain()`` before the last ``http.response.body`` and after the app returns
    (a client that disconnected mid-stream never gets a last body message)."""

    def __init__(self, app: ASGIApp, drain: Callable[[], Awaitable[None]]) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_after_drain(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await self.drain()
            await send(message)

        try:
            await self.app(scope, receive, send_after_drain)
        finally:
            await self.drain()


def lambda_app(app: Any) -> UsageFlushingApp:
    """Wrap the app from ``create_app`` for a Lambda handler (Mangum or the Web Adapter)."""
    return UsageFlushingApp(app, app.state.gateway.recorder.drain)


def mangum_handler(app: Any) -> Any:
    """A Lambda handler serving the app through Mangum. ``lifespan="off"``: Mangum would otherwise run
    startup and shutdown around every event; ``lambda_app`` finishes usage writes before it returns;
    ``observability.lambda_handler`` adds Powertools' Lambda context, the API Gateway request id as
    correlation id and a traced handler (``create_app`` already set up Logger, Metrics and Tracer)."""
    from mangum import Mangum

    from ..telemetry import powertools as observability

    return observability.lambda_handler(Mangum(lambda_app(app), lifespan="off"))


def after_restore(app: Any) -> None:
    """SnapStart: one snapshot of the initialised function becomes many execution environments. Reseed
    ``random`` (retry jitter) and give the upstream client new, empty pools, so no two environments
    share what the snapshot froze. (Nothing else is warm at init: the login, keys and model list are
    first read by a request; ``uuid4`` and ``secrets`` read the OS at each call.)"""
    random.seed()
    app.state.gateway.upstream.renew_pools()


def add_after_restore_route(app: Any, path: str | None) -> bool:
    """StreamFunction with SnapStart (template parameter ``StreamSnapStart``): the Web Adapter (1.1.0
    and later) calls ``AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH`` after each restore, before it re-checks
    readiness, so ``after_restore`` runs there (the Python runtime's hooks are not this process's: LWA
    is). The adapter answers 403 to outside requests for a hook path, and API Gateway routes only the
    chat paths here. Nothing is added without a path."""
    if not path:
        return False
    from fastapi.responses import Response

    async def restored() -> Response:
        after_restore(app)
        return Response(status_code=204)

    app.add_api_route(path, restored, methods=["GET", "POST"], include_in_schema=False)
    return True


def register_snapstart_hooks(app: Any) -> bool:
    """Run ``after_restore`` after each SnapStart restore; False where Lambda's runtime hooks are absent
    (``ob1gw serve``, sam local, tests)."""
    try:
        from snapshot_restore_py import register_after_restore  # Lambda's Python runtime (3.12+) only
    except ImportError:
        return False
    register_after_restore(after_restore, app)
    return True
