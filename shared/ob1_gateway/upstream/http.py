"""The HTTP plumbing both upstream clients share (the model backend's and WorkOS's): httpx's requests and
responses, sent on httpx-aiohttp's transport; which proxy the environment names; what a failure means.

httpx is the client API; aiohttp is only its transport (C parser, asyncio transports, an O(1) pool: the
reason, measured, is in bench/README.md, "httpx on aiohttp"). A request is handed to the transport
directly rather than through ``httpx.AsyncClient``: the client's auth flow, redirects, cookie jar, event
hooks and mounts are nothing the gateway uses, and cost more CPU per request than the transport itself.
"""

from __future__ import annotations

import logging
import ssl
import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import httpx
from aiohttp.http_exceptions import HttpProcessingError
from httpx_aiohttp import AiohttpTransport

# What the wire can raise: httpx's transport errors, and those of aiohttp that httpx-aiohttp passes on
# unmapped (the parser's own when aiohttp runs without its C extensions, a response that is not HTTP).
WIRE_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError, aiohttp.ClientError, HttpProcessingError)
# ... or a timer (``asyncio.timeout`` around a call): everything a request can end with but an answer.
FAULTS: tuple[type[Exception], ...] = (TimeoutError, *WIRE_ERRORS)

log = logging.getLogger(__name__)


def wire_cause(exc: BaseException) -> BaseException:
    """What the transport itself raised. httpx-aiohttp maps aiohttp's errors onto httpx's coarsely (a
    server that closed the connection, or a reset, becomes a ``ConnectTimeout``) and chains the original,
    which is what tells a refused connection from a timeout or a body cut off."""
    cause = exc.__cause__
    return cause if isinstance(exc, httpx.TransportError) and cause is not None else exc


def is_timeout(exc: BaseException) -> bool:
    """A connect, pool or read timer ran out (not a failure of the connection itself)."""
    return isinstance(wire_cause(exc), TimeoutError) or isinstance(exc, TimeoutError)


def is_connect_timeout(exc: BaseException) -> bool:
    """Connecting, or waiting for a free pooled connection, took too long (aiohttp times both together)."""
    return isinstance(wire_cause(exc), aiohttp.ConnectionTimeoutError)


def transport_fault(exc: BaseException) -> tuple[str, bool]:
    """What went wrong on the wire, in words a caller understands (no library class names), and whether
    it is a failure of the connection rather than of an answer (before any response, a retry is safe)."""
    exc = wire_cause(exc)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "cannot connect", True
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the upstream closed the connection", True
    if isinstance(exc, aiohttp.ClientOSError | aiohttp.ClientConnectionResetError):
        return "the connection was reset", True
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the response was cut off", False
    if isinstance(exc, aiohttp.ClientResponseError | HttpProcessingError):
        return "the response was not valid HTTP", False
    return "the connection failed", False


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``/``HTTP_PROXY``, ``NO_PROXY``), read once:
    aiohttp's own ``trust_env`` would look it up, and read ``~/.netrc``, in a thread on every request."""
    proxies = urllib.request.getproxies()
    scheme, _, rest = url.partition("://")
    authority = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    host = authority[1:].split("]", 1)[0] if authority.startswith("[") else authority.split(":", 1)[0]
    if not proxies or urllib.request.proxy_bypass(host):
        return None
    proxy = proxies.get(scheme) or proxies.get("all")
    if proxy and "://" not in proxy:  # HTTPS_PROXY=proxy.corp:3128 means an HTTP proxy, as curl reads it
        proxy = "http://" + proxy
    if proxy and not proxy.startswith(("http://", "https://")):
        log.warning("ignoring the %s proxy for %s: only HTTP(S) proxies are supported", proxy.split(":")[0], host)
        return None
    return proxy


# httpx-aiohttp builds a TLS context in its constructor, for sessions it would make itself. It is handed
# ours, whose connector verifies with aiohttp's default context (made at aiohttp's import, the system's
# CAs), so a bare client context stands in: verifying, without loading the CA bundle again (~20 ms).
_UNUSED_TLS_CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class _TailKeepingStream(httpx.AsyncByteStream):
    """A response body that hands out what arrived before a break, then raises. When the connection
    breaks, aiohttp raises at the next read without handing out what it had already received: the chunks
    that came together with a reset (often the last text and the usage chunk) would be lost. They are in
    the response's ``StreamReader._buffer`` (a deque of bytes; there is no public way to read past the
    error, and httpx-aiohttp keeps the aiohttp response as ``_aiohttp_response``).
    tests/integration/test_upstream_cut_off.py fails if either ever changes."""

    def __init__(self, body: httpx.AsyncByteStream) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for raw in self._body:
                yield raw
        except WIRE_ERRORS:
            content = getattr(getattr(self._body, "_aiohttp_response", None), "content", None)
            buffered = list(getattr(content, "_buffer", ()))
            if buffered:
                buffered[0] = buffered[0][getattr(content, "_buffer_offset", 0) :]
                yield b"".join(buffered)
            raise

    async def aclose(self) -> None:
        await self._body.aclose()  # the connection back to the pool when the body was read to its end


class Transport(AiohttpTransport):
    """httpx-aiohttp's transport on a session the gateway configures: no cookie jar (an upstream's
    cookies must not travel between callers), redirects not followed, a body that keeps its tail."""

    def __init__(self, *, limit: int = 100, keepalive: float = 15.0, proxy: str | None = None) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=limit,
                limit_per_host=0,
                keepalive_timeout=keepalive if keepalive > 0 else None,
                force_close=keepalive <= 0,  # 0: no reuse, and no idle socket left open
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
        )
        super().__init__(
            verify=_UNUSED_TLS_CONTEXT,
            trust_env=False,  # the proxy is read once, by env_proxy
            proxy=httpx.Proxy(proxy) if proxy else None,
            client=self.session,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        response.stream = _TailKeepingStream(response.stream)  # type: ignore[arg-type]
        return response

    def detach(self) -> None:
        """Drop the session without awaiting it (its loop may be gone); it holds no open connection when
        this is called at a restore, and a dead loop's sockets are closed with it."""
        if not self.session.closed:
            self.session.detach()

    @property
    def closed(self) -> bool:
        return self.session.closed


def timeouts(*, connect: float, read: float, pool: float) -> dict[str, dict[str, float | None]]:
    """A request's ``extensions`` for these timeouts (httpx's ``timeout`` extension, which the transport
    reads: ``pool`` bounds the wait for a free connection and the connect together, as aiohttp times it)."""
    return {"timeout": httpx.Timeout(connect=connect, read=read, write=read, pool=pool).as_dict()}
