"""One pooled HTTP client for the upstream's chat and model endpoints: httpx requests on httpx-aiohttp's
transport (``upstream/http.py``).

aiohttp under httpx because the upstream call is most of the gateway's CPU under load, and aiohttp's
session costs a fraction of httpx2's own transport per request (figures: bench/README.md, "Why aiohttp" and
"httpx on aiohttp").

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
import functools
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Literal

import httpx

from ..backoff import backoff_delays
from ..settings import Settings
from ..translate.error_bodies import chunk_error, upstream_error_message
from ..translate.json_codec import COMPACT
from ..translate.redact import MARKER
from ..translate.sse import SSEDecoder
from .http import (
    FAULTS,
    Transport,
    body_chunks,
    build_request,
    env_proxy,
    is_connect_timeout,
    is_timeout,
    read_body,
    timeouts,
    transport_fault,
)
from .token import TokenProvider, TokenUnavailable

log = logging.getLogger(__name__)

_NO_RETRY_5XX = frozenset({501, 505})


class _Done(Enum):
    """The type of the ``[DONE]`` sentinel (an enum member, so ``is _DONE`` narrows)."""

    DONE = "[DONE]"


_DONE: Final = _Done.DONE  # the ``[DONE]`` sentinel
# After a malformed chunk, how much more of the stream is read looking for its usage chunk.
_DRAIN_LIMIT_BYTES = 1 << 20


class UpstreamError(Exception):
    """The upstream answered with an error status (or could not be reached) before any byte was sent."""

    def __init__(self, status: int, message: str, retry_after: str | None = None, *, answered: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.answered = answered  # the upstream said so (False: the gateway could not ask it, e.g. no login)


class UpstreamStreamError(Exception):
    """The upstream stream broke after it started (bad chunk, error object, reset, silence)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    @classmethod
    def silent(cls, seconds: float | None) -> UpstreamStreamError:
        """Nothing came for the idle timeout (the socket's read timer, or the relay's backstop for it)."""
        return cls(f"upstream stream was silent for more than {seconds:g} s", 504)


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` without any exact occurrence of ``secrets`` (the credential this client sent)."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MARKER)
    return text


@functools.lru_cache(maxsize=8)  # per request otherwise; a credential changes every few minutes at most
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
        self, response: httpx.Response, *, idle_timeout: float | None = None, secrets: tuple[str, ...] = ()
    ) -> None:
        self._response = response
        self._idle_timeout = idle_timeout
        self._secrets = secrets
        self._malformed = False
        self._failure: UpstreamStreamError | None = None
        self._chunks: AsyncGenerator[dict[str, Any], None] | None = None  # set by ``opening``
        self._opened: list[dict[str, Any]] = []  # what ``opening`` read, handed on first
        self._pending: asyncio.Future[dict[str, Any]] | None = None  # ``opening``'s read still under way

    async def opening(self, wait: float) -> None:
        """Read ahead, for at most ``wait`` seconds, to the first chunk that says something (text, reasoning, a
        tool call, a finish reason), so that a stream that fails before it — an error chunk, a cut, an end with
        nothing said — fails here, before the caller was sent a byte: as ``UpstreamError`` (with what the upstream
        reported it charged, if anything). What was read is handed on first by iteration; a read still under way
        when ``wait`` runs out is continued by it."""
        self._chunks = self._iterate()
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            self._pending = asyncio.ensure_future(anext(self._chunks))
            left = deadline - asyncio.get_running_loop().time()
            done, _ = await asyncio.wait({self._pending}, timeout=max(left, 0))
            if not done:
                return None
            read, self._pending = self._pending, None
            try:
                chunk = read.result()
            except StopAsyncIteration:
                raise UpstreamError(502, "upstream ended the stream without a response") from None
            except UpstreamStreamError as exc:
                raise UpstreamError(exc.status, exc.message) from None
            self._opened.append(chunk)
            if _says_something(chunk):
                return

    def opened_usage(self) -> dict[str, Any] | None:
        """The last usage the chunks read by ``opening`` carried (what a stream that failed there charged)."""
        found = [c["usage"] for c in self._opened if isinstance(c.get("usage"), dict)]
        return found[-1] if found else None

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        if self._chunks is None:
            self._chunks = self._iterate()
        for chunk in self._opened:
            yield chunk
        self._opened = []
        if self._pending is not None:
            pending, self._pending = self._pending, None
            try:
                yield await pending
            except StopAsyncIteration:
                return
        async for chunk in self._chunks:
            yield chunk

    async def _iterate(self) -> AsyncGenerator[dict[str, Any], None]:
        decoder = SSEDecoder()
        raw_chunks = body_chunks(self._response).__aiter__()
        drained = 0  # bytes read after a malformed chunk, looking for the usage
        try:
            while True:
                try:  # silence is bounded by the request's socket read timeout (``stream_idle_timeout``)
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
        except FAULTS as exc:
            if is_timeout(exc):  # the socket's read timer
                raise UpstreamStreamError.silent(self._idle_timeout) from None
            raise UpstreamStreamError(f"upstream stream failed: {transport_fault(exc)[0]}") from None
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
        if self._pending is not None:  # ``opening``'s read, never taken up: stopped before the response closes
            self._pending.cancel()
            await asyncio.wait({self._pending})
            self._pending = None
        await self._response.aclose()  # back to the pool when the body was read to its end, else closed


def _says_something(chunk: dict[str, Any]) -> bool:
    """Whether a chunk carries part of an answer, not only a role, an empty delta or usage."""
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        if choice.get("finish_reason") or (isinstance(delta, dict) and any(delta.get(k) for k in _ANSWER_FIELDS)):
            return True
    return False


_ANSWER_FIELDS = ("content", "reasoning", "reasoning_content", "reasoning_details", "tool_calls", "refusal", "audio")


async def _read_answer(response: httpx.Response, deadline: float) -> bytes:
    """Read a successful response's body within ``deadline`` seconds. It is the upstream's answer (and
    its charge): a body cut off or stalled here is a 502/504 for the caller, never a retry. (The socket
    read timeout alone is not enough: after malformed chunk framing aiohttp stops that timer and the
    body would wait forever.)"""
    try:
        async with asyncio.timeout(deadline):
            return await read_body(response)
    except FAULTS as exc:
        if is_timeout(exc):
            raise UpstreamError(504, "upstream timed out while sending its response") from None
        raise UpstreamError(502, f"upstream response was cut off after it started: {transport_fault(exc)[0]}") from None
    finally:
        await response.aclose()


class _Session:
    """The transport and its connection pool, made on first use in the running event loop (a pool belongs
    to one loop; nothing connects at import or init, so a SnapStart snapshot holds no connection)."""

    def __init__(self, settings: Settings, proxy: str | None) -> None:
        self._limit = settings.upstream_max_connections
        self._keepalive = settings.upstream_keepalive_seconds
        self._proxy = proxy
        self._transport: Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> Transport:
        loop = asyncio.get_running_loop()
        if self._transport is None or self._loop is not loop or self._transport.closed:
            self.forget()
            self._transport = Transport(limit=self._limit, keepalive=self._keepalive, proxy=self._proxy)
            self._loop = loop
        return self._transport

    def forget(self) -> None:
        """Drop the pool without awaiting it (its loop may be gone; see ``Transport.detach``)."""
        if self._transport is not None:
            self._transport.detach()
        self._transport = None

    async def aclose(self) -> None:
        if self._transport is not None and not self._transport.closed:
            await self._transport.aclose()
        self._transport = None


@dataclass(frozen=True)
class _Attempt:
    """What one try at the upstream came to: its ``response``, or its ``failure``; ``answered``: the
    upstream answered with an error status; ``wait``: the seconds its ``retry-after`` asked for."""

    response: httpx.Response | None = None
    failure: UpstreamError | None = None
    answered: bool = False
    retryable: bool = False
    wait: float | None = None


class _Retries:
    """The retry policy of one request: at most ``max_retries`` retries of a retryable failure, each after
    the upstream's ``retry-after`` when it gave one (a longer wait than ``retry_max_wait_seconds`` is left
    to the caller), else after the backoff."""

    def __init__(self, settings: Settings) -> None:
        self.done = 0
        self._max = settings.max_retries
        self._max_wait = settings.retry_max_wait_seconds
        self._delays = backoff_delays(settings.retry_backoff_seconds, settings.retry_max_wait_seconds)

    def wait_before_next(self, attempt: _Attempt) -> float | None:
        """Seconds to wait before the next try, or None: give up."""
        if not attempt.retryable or self.done >= self._max:
            return None
        if attempt.wait is not None and attempt.wait > self._max_wait:
            return None
        self.done += 1
        return attempt.wait if attempt.wait is not None else next(self._delays)


class UpstreamClient:
    def __init__(self, settings: Settings, tokens: TokenProvider) -> None:
        self.settings = settings
        self.tokens = tokens
        self.base_url = settings.upstream_url
        self._proxy = env_proxy(settings.upstream_url)
        self.http = _Session(settings, self._proxy)
        self._urls: dict[str, httpx.URL] = {}
        self._static_headers = {"Content-Type": "application/json"}
        if settings.send_ob1_client_headers:
            self._static_headers |= {"HTTP-Referer": "https://github.com/delta-hq/ob1", "X-Title": "OB1 CLI"}
        # The headers of a request, built once per credential (a token changes every few minutes at most).
        self._headers: dict[tuple[str, bool], httpx.Headers] = {}
        # A pool slot is waited for as long as a read; a connect is bounded on its own; each read of a
        # stream waits at most the idle timeout.
        connect, read = settings.connect_timeout, settings.read_timeout
        self._timeout = timeouts(connect=connect, read=read, pool=read)
        self._stream_timeout = timeouts(connect=connect, read=settings.stream_idle_timeout, pool=read)

    async def aclose(self) -> None:
        await self.http.aclose()

    def renew_pools(self) -> None:
        """New, empty connection pools (after a SnapStart restore; the old session holds no connection
        then, since nothing is sent upstream at init)."""
        self.http.forget()
        self.http = _Session(self.settings, self._proxy)

    async def list_models(self) -> list[dict[str, Any]]:
        response, _ = await self._send("GET", "/models", None)
        raw = await _read_answer(response, self.settings.read_timeout)
        try:
            data = json.loads(raw).get("data", [])
        except (ValueError, AttributeError):
            raise UpstreamError(502, "upstream returned an unreadable model list") from None
        if not isinstance(data, list):
            raise UpstreamError(502, "upstream returned an unreadable model list")
        return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        response, secrets = await self._send("POST", "/chat/completions", body)
        raw = await _read_answer(response, self.settings.read_timeout)
        try:
            payload = json.loads(raw)
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

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self.base_url + path)
        return url

    def _request_headers(self, authorization: str, stream: bool) -> httpx.Headers:
        headers = self._headers.get((authorization, stream))
        if headers is None:
            if len(self._headers) >= 8:  # old credentials
                self._headers.clear()
            headers = httpx.Headers({**self._static_headers, "Authorization": authorization})
            if stream:
                headers["Accept"] = "text/event-stream"
            self._headers[(authorization, stream)] = headers
        return headers

    async def _request(
        self, method: str, path: str, headers: httpx.Headers, content: bytes | None, stream: bool
    ) -> httpx.Response:
        """One request, returned once its headers are read; ``first_byte_timeout`` bounds that for streams
        and the model list (a non-stream completion's headers come with its whole body)."""
        send = self.http.get().handle_async_request(
            build_request(method, self._url(path), headers, content, self._stream_timeout if stream else self._timeout)
        )
        if not (stream or method == "GET"):
            return await send
        async with asyncio.timeout(self.settings.first_byte_timeout):
            return await send

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None, *, stream: bool = False
    ) -> tuple[httpx.Response, tuple[str, ...]]:
        """The first successful response (and the credential pieces it was sent with), after at most one
        401 refresh and the retries ``_Retries`` allows. Only its headers have been read: once the
        upstream has answered, nothing is retried (it may already have charged for the answer)."""
        try:
            authorization = await self.tokens.authorization()
        except TokenUnavailable as exc:
            raise UpstreamError(503, str(exc), answered=False) from None
        content = None if body is None else COMPACT.encode(body).encode()
        refreshed = False
        retries: _Retries | None = None
        while True:
            attempt = await self._attempt(method, path, authorization, content, stream)
            if attempt.response is not None:
                return attempt.response, credential_parts(authorization)
            failure = attempt.failure
            assert failure is not None
            if failure.status == 401 and attempt.answered and not refreshed:  # once, and not a retry
                refreshed = True
                authorization = await self._fresh_authorization(authorization)
                continue
            retries = retries or _Retries(self.settings)
            wait = retries.wait_before_next(attempt)
            if wait is None:
                raise failure
            log.warning(
                "upstream %s %s failed before the first byte (%s %s); retry %d/%d in %.2f s",
                method,
                path,
                failure.status,
                failure.message,
                retries.done,
                self.settings.max_retries,
                wait,
            )
            await asyncio.sleep(wait)

    async def _attempt(
        self, method: str, path: str, authorization: str, content: bytes | None, stream: bool
    ) -> _Attempt:
        """One try: the response if the upstream accepted the request, else the failure and whether it
        may be retried."""
        headers = self._request_headers(authorization, stream)
        started = time.monotonic()
        try:
            response = await self._request(method, path, headers, content, stream)
        except FAULTS as exc:
            return self._transport_failure(exc, time.monotonic() - started)
        if response.status_code < 400:
            return _Attempt(response=response)
        return await self._refusal(response, credential_parts(authorization))

    def _transport_failure(self, exc: BaseException, elapsed: float) -> _Attempt:
        """No answer: a connect that timed out is retried (unless it was a wait for a pooled connection:
        the gateway is the bottleneck), a connection that failed before the request went out too; a
        first byte or a read that timed out is not (the upstream may be working on it)."""
        if is_connect_timeout(exc):
            # aiohttp's connect timeout also covers waiting for a free pooled connection
            if elapsed > self.settings.connect_timeout + 1:
                return _Attempt(failure=UpstreamError(503, "too many concurrent upstream requests"))
            return _Attempt(failure=UpstreamError(504, "upstream connect timed out"), retryable=True)
        if is_timeout(exc):
            return _Attempt(failure=UpstreamError(504, "upstream timed out before responding"))
        fault, retryable = transport_fault(exc)
        return _Attempt(failure=UpstreamError(502, f"upstream unreachable: {fault}"), retryable=retryable)

    async def _refusal(self, response: httpx.Response, secrets: tuple[str, ...]) -> _Attempt:
        """An error status: its (small) body read for the message, the connection released, and whether
        the status may be retried and after how long the upstream asked."""
        try:
            async with asyncio.timeout(self.settings.connect_timeout):  # an error body is small
                raw = await read_body(response)
        except FAULTS:
            raw = b""
        finally:
            await response.aclose()
        status, retry_after = response.status_code, response.headers.get("retry-after")
        failure = UpstreamError(status, scrub(upstream_error_message(status, raw), secrets), retry_after)
        return _Attempt(
            failure=failure,
            answered=True,
            retryable=is_retryable_status(status),
            wait=retry_after_seconds(retry_after),
        )

    async def _fresh_authorization(self, rejected: str) -> str:
        try:
            return await self.tokens.after_rejection(rejected)
        except TokenUnavailable as exc:
            raise UpstreamError(503, str(exc), answered=False) from None
