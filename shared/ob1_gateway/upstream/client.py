"""One pooled httpx client for the upstream's chat and model endpoints.

Streams are handed back unbuffered, chunk by chunk. A 401 triggers one token refresh (shared with
every concurrent request that saw the same token) and one retry with the new token.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ..settings import Settings
from ..translate.errors import upstream_error_message
from ..translate.sse import SSEDecoder
from .token import TokenProvider, TokenUnavailable


class UpstreamError(Exception):
    """The upstream answered with an error status (or could not be reached) before any byte was sent."""

    def __init__(self, status: int, message: str, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


class UpstreamStreamError(Exception):
    """The upstream stream broke after it started (bad chunk, error object, reset)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ChatStream:
    """An open upstream SSE response, iterated as parsed chunk dicts until ``[DONE]`` or EOF."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.done = False

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        decoder = SSEDecoder()
        try:
            async for raw in self._response.aiter_raw():
                for event in decoder.feed(raw):
                    chunk = self._parse(event.data)
                    if chunk is None:
                        self.done = True
                        return
                    yield chunk
            for event in decoder.flush():
                chunk = self._parse(event.data)
                if chunk is None:
                    self.done = True
                    return
                yield chunk
        except httpx.HTTPError as exc:
            raise UpstreamStreamError(f"upstream stream failed: {type(exc).__name__}") from None

    @staticmethod
    def _parse(data: str) -> dict[str, Any] | None:
        if data.strip() == "[DONE]":
            return None
        try:
            chunk = json.loads(data)
        except ValueError:
            raise UpstreamStreamError("upstream sent a malformed stream chunk") from None
        if not isinstance(chunk, dict):
            raise UpstreamStreamError("upstream sent a malformed stream chunk")
        if isinstance(chunk.get("error"), dict):
            error = chunk["error"]
            status = error.get("code") if isinstance(error.get("code"), int) else 502
            raise UpstreamStreamError(str(error.get("message") or "upstream error"), status)
        return chunk

    async def aclose(self) -> None:
        await self._response.aclose()


class UpstreamClient:
    def __init__(self, settings: Settings, tokens: TokenProvider, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.tokens = tokens
        self.base_url = settings.upstream_url
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=64, keepalive_expiry=60),
        )
        self._static_headers = {"Content-Type": "application/json"}
        if settings.send_ob1_client_headers:
            self._static_headers |= {"HTTP-Referer": "https://github.com/delta-hq/ob1", "X-Title": "OB1 CLI"}

    async def aclose(self) -> None:
        await self.http.aclose()

    async def list_models(self) -> list[dict[str, Any]]:
        response = await self._send("GET", "/models", None, stream=False)
        try:
            data = response.json().get("data", [])
        except ValueError:
            raise UpstreamError(502, "upstream returned an unreadable model list") from None
        return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._send("POST", "/chat/completions", body, stream=False)
        try:
            payload = response.json()
        except ValueError:
            raise UpstreamError(502, "upstream returned a response that is not JSON") from None
        if not isinstance(payload, dict):
            raise UpstreamError(502, "upstream returned a response that is not a JSON object")
        if isinstance(payload.get("error"), dict):
            error = payload["error"]
            status = error.get("code") if isinstance(error.get("code"), int) else 502
            raise UpstreamError(status, str(error.get("message") or "upstream error"))
        return payload

    async def open_chat_stream(self, body: dict[str, Any]) -> ChatStream:
        response = await self._send("POST", "/chat/completions", body, stream=True)
        return ChatStream(response)

    async def _send(self, method: str, path: str, body: dict[str, Any] | None, *, stream: bool) -> httpx.Response:
        try:
            authorization = await self.tokens.authorization()
        except TokenUnavailable as exc:
            raise UpstreamError(503, str(exc)) from None
        for attempt in (1, 2):
            headers = {**self._static_headers, "Authorization": authorization}
            if stream:
                headers["Accept"] = "text/event-stream"
            request = self.http.build_request(
                method, self.base_url + path, headers=headers,
                content=None if body is None else json.dumps(body, separators=(",", ":")),
            )
            try:
                response = await self.http.send(request, stream=stream)
            except httpx.TimeoutException:
                raise UpstreamError(504, "upstream timed out") from None
            except httpx.HTTPError as exc:
                raise UpstreamError(502, f"upstream unreachable: {type(exc).__name__}") from None
            if response.status_code < 400:
                return response
            content = await response.aread()
            await response.aclose()
            if response.status_code == 401 and attempt == 1:
                authorization = await self._fresh_authorization(authorization)
                continue
            raise UpstreamError(
                response.status_code,
                upstream_error_message(response.status_code, content),
                response.headers.get("retry-after"),
            )
        raise AssertionError("unreachable")

    async def _fresh_authorization(self, rejected: str) -> str:
        try:
            return await self.tokens.after_rejection(rejected)
        except TokenUnavailable as exc:
            raise UpstreamError(503, str(exc)) from None
