"""Every metered response names its usage record: ``request-id`` (the header Anthropic's API sends) and
``x-request-id`` (OpenAI's) carry the record's ``request_id``, so an answer can be found on the bill."""

from __future__ import annotations

from typing import Any

from fastapi import Request

Scope = dict[str, Any]

__all__ = ["RequestIdHeaders", "remember_request_id"]


def remember_request_id(request: Request, request_id: str) -> None:
    request.state.request_id = request_id


class RequestIdHeaders:
    """ASGI middleware: add the headers when a route remembered a request id."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: dict[str, Any]) -> None:
            request_id = (scope.get("state") or {}).get("request_id")
            if message["type"] == "http.response.start" and request_id:
                value = request_id.encode()
                message["headers"] = [*message.get("headers", []), (b"request-id", value), (b"x-request-id", value)]
            await send(message)

        await self.app(scope, receive, send_with_id)
