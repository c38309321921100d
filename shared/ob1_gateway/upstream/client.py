"""One pooled HTTP client (httpx2) for the upstream's chat and model endpoints.

httpx2 is httpx's maintained successor (same API, same author). It is used instead of httpx 0.28 because
httpcore 1.0's connection pool does O(connections²) bookkeeping per request and evicts kept-alive
connections it should keep: under 64 concurrent requests that capped the gateway at ~250 requests/s,
against ~1,100 with httpx2's pool (bench/README.md, "Why httpx2").

Streams are handed back unbuffered, chunk by chunk. A 401 triggers one token refresh (shared with
every concurrent request that saw the same token) and one retry with the new token.

Faults:

- *Before the upstream answers* (inside ``_send``, before any response headers): connect errors,
  a connection dropped before a response, 429 and retryable 5xx are retried up to
  ``max_retries`` times with exponential backoff (``retry_backoff_seconds`` · 2ⁿ, equal jitter, capped at
  ``retry_max_wait_seconds``). ``Retry-After`` (seconds or an HTTP date) replaces the backoff; when it
  asks for longer than the cap the error is returned at once, with its ``Retry-After``, rather than
  waited for. Timeouts are not retried: the upstream may still be working (and billing) on the
  request, and a retry would multiply the wait. Streaming requests and the model list must see
  response headers within ``first_byte_timeout`` (504 otherwise).
- *After it*: nothing is retried. A non-stream body cut off after a 200 is a 502 (a retry could charge
  the same answer again). A stream (``ChatStream``) is only framed, parsed and timed: a reset, more
  than ``stream_idle_timeout`` seconds of silence, a malformed chunk (the rest of the stream is still
  read, up to 1 MiB, for its usage) or an ``error`` object raise ``UpstreamStreamError``, which the
  relay turns into the API's own in-stream error. Whether the chunks make a whole answer (a finish
  reason, complete tool-call arguments) is decided by the translator's ``Sequencer``.

Secrets: every message that may carry upstream text is redacted (``translate.errors``) and scrubbed of
the exact credential this client sent, so an upstream that echoes the Authorization header back never
shows it to a caller or a log.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
import urllib.request
from collections.abc import AsyncIterator
from enum import Enum
from typing import Any, Final, Literal

import httpx2

from ..backoff import backoff_delays
from ..settings import Settings
from ..translate.errors import chunk_error, upstream_error_message
from ..translate.redact import MARKER
from ..translate.sse import SSEDecoder
from .sharded import ShardedTransport
from .token import TokenProvider, TokenUnavailable

log = logging.getLogger(__name__)

_NO_RETRY_5XX = frozenset({501, 505})


class _Done(Enum):
    """The type of the ``[DONE]`` sentinel (an enum member, so ``is _DONE`` narrows)."""

    DONE = "[DONE]"


_DONE: Final = _Done.DONE  # the ``[DONE]`` sentinel
# After a malformed chunk, how much more of the stream is read looking for its usage chunk.
_DRAIN_LIMIT_BYTES = 1 << 20
# Failures where the upstream never answered: safe and useful to retry.
_RETRYABLE_TRANSPORT = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.RemoteProtocolError,
    httpx2.ReadError,
    httpx2.WriteError,
)


class UpstreamError(Exception):
    """The upstream answered with an error status (or could not be reached) before any byte was sent."""

    def __init__(self, status: int, message: str, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


class UpstreamStreamError(Exception):
    """The upstream stream broke after it started (bad chunk, error object, reset, silence)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` without any exact occurrence of ``secrets`` (the credential this client sent)."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MARKER)
    return text


def credential_parts(authorization: str) -> tuple[str, ...]:
    """The header value and its pieces worth scrubbing: the value after ``Bearer`` and the token before
    the ``:<organization>`` suffix (short pieces such as an org id are not secrets)."""
    value = authorization.partition(" ")[2] if authorization.lower().startswith("bearer ") else authorization
    parts = {authorization, value, value.rsplit(":", 1)[0]}
    return tuple(sorted((p for p in parts if len(p) >= 8), key=len, reverse=True))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date), None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def is_retryable_status(status: int) -> bool:
    return status == 429 or (500 <= status < 600 and status not in _NO_RETRY_5XX)


class ChatStream:
    """An open upstream SSE response, iterated as parsed chunk dicts until ``[DONE]`` or EOF.

    Iteration raises ``UpstreamStreamError`` when the stream breaks (see the module docstring); chunks
    already yielded stay valid, so a relay can still account for what was consumed.
    """

    def __init__(
        self, response: httpx2.Response, *, idle_timeout: float | None = None, secrets: tuple[str, ...] = ()
    ) -> None:
        self._response = response
        self._idle_timeout = idle_timeout
        self._secrets = secrets
        self._malformed = False
        self._failure: UpstreamStreamError | None = None

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        decoder = SSEDecoder()
        raw_chunks = self._response.aiter_raw().__aiter__()
        drained = 0  # bytes read after a malformed chunk, looking for the usage
        try:
            while True:
                try:  # silence is bounded by the request's read timeout (``stream_idle_timeout``)
                    raw = await raw_chunks.__anext__()
                except StopAsyncIteration:
                    break
                if self._malformed:
                    drained += len(raw)
                    if drained > _DRAIN_LIMIT_BYTES:
                        break
                for event in decoder.feed(raw):
                    chunk = self._parse(event.data)
                    if chunk is _DONE:
                        self._check_complete()
                        return
                    if chunk is not None:
                        yield chunk
                    if self._failure is not None:
                        raise self._failure
            for event in decoder.flush():
                chunk = self._parse(event.data)
                if chunk is _DONE:
                    break
                if chunk is not None:
                    yield chunk
                if self._failure is not None:
                    raise self._failure
        except (TimeoutError, httpx2.ReadTimeout):
            raise UpstreamStreamError(
                f"upstream stream was silent for more than {self._idle_timeout:g} s", 504
            ) from None
        except httpx2.TimeoutException:
            raise UpstreamStreamError("upstream stream timed out", 504) from None
        except httpx2.HTTPError as exc:
            raise UpstreamStreamError(f"upstream stream failed: {type(exc).__name__}") from None
        self._check_complete()

    def _parse(self, data: str) -> dict[str, Any] | Literal[_Done.DONE] | None:
        """The chunk to yield, ``_DONE`` at ``[DONE]``, or None for nothing to yield. After a malformed
        chunk the content is lost, so only usage is passed on: what the upstream charged is recorded."""
        if data.strip() == "[DONE]":
            return _DONE
        try:
            chunk = json.loads(data)
        except ValueError:
            chunk = None
        if not isinstance(chunk, dict):
            self._malformed = True
            return None
        error = chunk_error(chunk)
        if error is not None:
            failure = UpstreamStreamError(scrub(error[1], self._secrets), error[0])
            if not isinstance(chunk.get("usage"), dict):
                raise failure
            self._failure = failure  # raised once its usage (what was charged) has been passed on
            return {"usage": chunk["usage"], "choices": []}
        if self._malformed:
            return {**chunk, "choices": []} if isinstance(chunk.get("usage"), dict) else None
        return chunk

    def _check_complete(self) -> None:
        """At the end of the stream: content lost to a malformed chunk makes it broken. (Whether what
        arrived is a whole answer is the translator's call: ``Sequencer.ending_fault``.)"""
        if self._malformed:
            raise UpstreamStreamError("upstream sent a malformed stream chunk")

    async def aclose(self) -> None:
        await self._response.aclose()


async def _read_answer(response: httpx2.Response) -> None:
    """Read a successful response's body. It is the upstream's answer (and its charge): a body cut
    off or stalled here is a 502/504 for the caller, never a retry."""
    try:
        await response.aread()
    except httpx2.TimeoutException:
        raise UpstreamError(504, "upstream timed out while sending its response") from None
    except httpx2.HTTPError as exc:
        raise UpstreamError(502, f"upstream response was cut off after it started: {type(exc).__name__}") from None
    finally:
        await response.aclose()


def _http_client(settings: Settings) -> httpx2.AsyncClient:
    """Sharded pools (``sharded.py``), unless the environment names a proxy: httpx2 honours proxy
    variables only with its own transport, and a proxy funnels the connections anyway."""
    timeout = httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    if urllib.request.getproxies():
        limits = httpx2.Limits(
            max_connections=settings.upstream_max_connections,
            max_keepalive_connections=settings.upstream_max_keepalive,
            keepalive_expiry=60,
        )
        return httpx2.AsyncClient(timeout=timeout, limits=limits)
    transport = ShardedTransport(
        max_connections=settings.upstream_max_connections,
        max_keepalive=settings.upstream_max_keepalive,
        keepalive_expiry=60,
    )
    return httpx2.AsyncClient(timeout=timeout, transport=transport)


class UpstreamClient:
    def __init__(self, settings: Settings, tokens: TokenProvider, http: httpx2.AsyncClient | None = None) -> None:
        self.settings = settings
        self.tokens = tokens
        self.base_url = settings.upstream_url
        self.http = http or _http_client(settings)
        self._static_headers = {"Content-Type": "application/json"}
        if settings.send_ob1_client_headers:
            self._static_headers |= {"HTTP-Referer": "https://github.com/delta-hq/ob1", "X-Title": "OB1 CLI"}

    async def aclose(self) -> None:
        await self.http.aclose()

    def renew_pools(self) -> None:
        """New, empty connection pools (after a SnapStart restore; the old client holds no connection
        then, since nothing is sent upstream at init)."""
        self.http = _http_client(self.settings)

    async def list_models(self) -> list[dict[str, Any]]:
        response, _ = await self._send("GET", "/models", None)
        await _read_answer(response)
        try:
            data = response.json().get("data", [])
        except (ValueError, AttributeError):
            raise UpstreamError(502, "upstream returned an unreadable model list") from None
        if not isinstance(data, list):
            raise UpstreamError(502, "upstream returned an unreadable model list")
        return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        response, secrets = await self._send("POST", "/chat/completions", body)
        await _read_answer(response)
        try:
            payload = response.json()
        except ValueError:
            raise UpstreamError(502, "upstream returned a response that is not JSON") from None
        if not isinstance(payload, dict):
            raise UpstreamError(502, "upstream returned a response that is not a JSON object")
        error = chunk_error(payload)
        if error is not None:
            raise UpstreamError(error[0], scrub(error[1], secrets))
        return payload

    async def open_chat_stream(self, body: dict[str, Any]) -> ChatStream:
        response, secrets = await self._send("POST", "/chat/completions", body, stream=True)
        return ChatStream(response, idle_timeout=self.settings.stream_idle_timeout, secrets=secrets)

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None, *, stream: bool = False
    ) -> tuple[httpx2.Response, tuple[str, ...]]:
        """The first successful response (and the credential pieces it was sent with), after at most one
        401 refresh and ``max_retries`` retries of transient failures. Only its headers have been read:
        once the upstream has answered, nothing is retried (it may already have charged for the answer)."""
        try:
            authorization = await self.tokens.authorization()
        except TokenUnavailable as exc:
            raise UpstreamError(503, str(exc)) from None
        content = None if body is None else json.dumps(body, separators=(",", ":"))
        # Headers should come promptly for streams and the model list; a non-stream completion's
        # headers come with its whole body, so only read_timeout bounds it.
        first_byte = self.settings.first_byte_timeout if stream or method == "GET" else None
        refreshed = False
        retries = 0
        delays = backoff_delays(self.settings.retry_backoff_seconds, self.settings.retry_max_wait_seconds)
        while True:
            secrets = credential_parts(authorization)
            headers = {**self._static_headers, "Authorization": authorization}
            if stream:
                headers["Accept"] = "text/event-stream"
            request = self.http.build_request(method, self.base_url + path, headers=headers, content=content)
            if stream:  # each read of a stream waits at most this long: the idle timeout, for no extra cost
                request.extensions["timeout"] = {
                    **request.extensions["timeout"],
                    "read": self.settings.stream_idle_timeout,
                }
            failure: UpstreamError
            wait: float | None = None
            try:
                async with asyncio.timeout(first_byte):
                    response = await self.http.send(request, stream=True)
            except httpx2.ConnectTimeout:
                failure = UpstreamError(504, "upstream connect timed out")
            except httpx2.PoolTimeout:
                raise UpstreamError(503, "too many concurrent upstream requests") from None
            except (TimeoutError, httpx2.TimeoutException):
                raise UpstreamError(504, "upstream timed out before responding") from None
            except _RETRYABLE_TRANSPORT as exc:
                failure = UpstreamError(502, f"upstream unreachable: {type(exc).__name__}")
            except httpx2.HTTPError as exc:
                raise UpstreamError(502, f"upstream unreachable: {type(exc).__name__}") from None
            else:
                if response.status_code < 400:
                    return response, secrets
                try:
                    raw = await response.aread()
                except httpx2.HTTPError:
                    raw = b""
                finally:
                    await response.aclose()
                status = response.status_code
                if status == 401 and not refreshed:
                    refreshed = True
                    authorization = await self._fresh_authorization(authorization)
                    continue
                retry_after = response.headers.get("retry-after")
                failure = UpstreamError(status, scrub(upstream_error_message(status, raw), secrets), retry_after)
                if not is_retryable_status(status):
                    raise failure
                wait = retry_after_seconds(retry_after)
            if retries >= self.settings.max_retries:
                raise failure
            if wait is None:
                wait = next(delays)
            elif wait > self.settings.retry_max_wait_seconds:
                raise failure  # asked to wait longer than we hold a caller: let the caller decide
            retries += 1
            log.warning(
                "upstream %s %s failed before the first byte (%s %s); retry %d/%d in %.2f s",
                method,
                path,
                failure.status,
                failure.message,
                retries,
                self.settings.max_retries,
                wait,
            )
            await asyncio.sleep(wait)

    async def _fresh_authorization(self, rejected: str) -> str:
        try:
            return await self.tokens.after_rejection(rejected)
        except TokenUnavailable as exc:
            raise UpstreamError(503, str(exc)) from None
