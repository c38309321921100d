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
from typing import Any

import aiohttp
import aiohttp.abc
import httpx
from aiohttp.http_exceptions import HttpProcessingError
from httpx_aiohttp.transport import AiohttpTransport, map_aiohttp_exceptions
from multidict import CIMultiDict, CIMultiDictProxy

# What the wire can raise: httpx's transport errors, and those of aiohttp that httpx-aiohttp passes on
# unmapped (the parser's own when aiohttp runs without its C extensions, a response that is not HTTP).
_AIOHTTP_ERRORS: tuple[type[Exception], ...] = (aiohttp.ClientError, HttpProcessingError)
WIRE_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError, *_AIOHTTP_ERRORS)
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
# CAs), so a bare client context stands in: verifying, without loading the CA bundle again
# (bench/README.md, "httpx on aiohttp").
_UNUSED_TLS_CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
# httpx adds these from the body; aiohttp does the same from the bytes it is handed.
_BODY_HEADERS = frozenset({b"host", b"content-length"})


class _Body(httpx.AsyncByteStream):
    """An aiohttp response's body as httpx reads it: each chunk as it arrives, and what arrived before a
    break. When the connection breaks, aiohttp raises at the next read without handing out what it had
    already received: the chunks that came together with a reset (often the last text and the usage
    chunk) would be lost. They are in the response's ``StreamReader._buffer`` (a deque of bytes; there is
    no public way to read past the error). tests/integration/test_upstream_cut_off.py fails if that changes.
    aiohttp's errors become httpx's, by httpx-aiohttp's map (the original chained: ``wire_cause``)."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            async for raw in content.iter_any():
                yield raw
        except _AIOHTTP_ERRORS:
            buffered = list(getattr(content, "_buffer", ()))
            if buffered:
                buffered[0] = buffered[0][getattr(content, "_buffer_offset", 0) :]
                yield b"".join(buffered)
            with map_aiohttp_exceptions():
                raise

    async def read(self) -> bytes:
        """The whole body at once (aiohttp's own read, without a generator per chunk)."""
        try:
            return await self._response.read()
        except Exception:
            with map_aiohttp_exceptions():
                raise

    async def aclose(self) -> None:
        self._response.release()  # back to the pool when the body was read to its end, else closed


def body_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """A stream's body as it arrives, with what arrived before a break. Read from the transport's stream
    itself unless the upstream compressed it: httpx's decoding and chunking layers cost CPU on every read of
    every stream, for nothing when there is nothing to decode."""
    stream = response.stream
    if isinstance(stream, _Body) and _identity(response):
        return stream.__aiter__()
    return response.aiter_bytes()


async def read_body(response: httpx.Response) -> bytes:
    """A whole body, decoded (``Response.aread``), in one read when there is nothing to decode."""
    stream = response.stream
    if isinstance(stream, _Body) and _identity(response):
        return await stream.read()
    return await response.aread()


def _identity(response: httpx.Response) -> bool:
    return bool(response.headers.get("content-encoding", "identity") == "identity")


def build_request(
    method: str, url: httpx.URL, headers: httpx.Headers, content: bytes | None, extensions: dict[str, Any]
) -> httpx.Request:
    """An ``httpx.Request`` for this transport, its body given as a stream: httpx's own body encoding (a
    ``Content-Length`` and ``Host`` header derived, the body read into the request) is most of what building
    a request costs, and aiohttp derives both from the bytes again."""
    return httpx.Request(method, url, headers=headers, stream=httpx.ByteStream(content or b""), extensions=extensions)


class Transport(AiohttpTransport):
    """httpx-aiohttp's transport on a session the gateway configures: no cookie jar (an upstream's
    cookies must not travel between callers), redirects not followed, a body that keeps its tail.

    ``handle_async_request`` is httpx-aiohttp's, made lean: it is most of the upstream client's CPU per
    request (bench/README.md, "httpx on aiohttp"). The aiohttp headers and timeouts a request needs are
    built once per distinct value rather than per request (httpx's ``Headers`` decoded item by item into a
    ``CIMultiDict``, a ``ClientTimeout``), the URL is handed over as the string httpx parsed, and the body
    is read with ``iter_any`` (whatever arrived) rather than in fixed 16 KiB pieces."""

    def __init__(
        self,
        *,
        limit: int = 100,
        keepalive: float = 15.0,
        proxy: str | None = None,
        resolver: aiohttp.abc.AbstractResolver | None = None,
    ) -> None:
        """``resolver``: who turns a name into the addresses to connect to (a fetch's guard, websearch/)."""
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=limit,
                limit_per_host=0,
                keepalive_timeout=keepalive if keepalive > 0 else None,
                force_close=keepalive <= 0,  # 0: no reuse, and no idle socket left open
                resolver=resolver,
                use_dns_cache=resolver is None,  # a guard resolves on every connection
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
        self._proxy_url = proxy  # aiohttp reads the credentials of ``user:pass@`` itself
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}
        self._headers: dict[tuple[tuple[bytes, bytes], ...], CIMultiDictProxy[str]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.session.request(
                request.method,
                str(request.url),
                headers=self._aiohttp_headers(request.headers),
                data=self._content(request),
                allow_redirects=False,
                auto_decompress=False,  # httpx decodes, as it does on its own transport
                timeout=self._client_timeout(request.extensions.get("timeout")),
                proxy=self._proxy_url,
            )
        except Exception:  # httpx's errors, by httpx-aiohttp's map (a ``with`` costs on every request)
            with map_aiohttp_exceptions():
                raise
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    @staticmethod
    def _content(request: httpx.Request) -> bytes | None:
        return request.read() or None

    def _aiohttp_headers(self, headers: httpx.Headers) -> CIMultiDictProxy[str]:
        """The request's own headers for aiohttp (which adds ``Host`` and ``Content-Length`` itself), made
        once per distinct set: the upstream's change only with the credential."""
        key = tuple(headers.raw)
        converted = self._headers.get(key)
        if converted is None:
            if len(self._headers) >= 16:  # old credentials
                self._headers.clear()
            encoding = headers.encoding
            converted = self._headers[key] = CIMultiDictProxy(
                CIMultiDict(
                    (name.decode(encoding), value.decode(encoding))
                    for name, value in key
                    if name.lower() not in _BODY_HEADERS
                )
            )
        return converted

    def _client_timeout(self, timeout: dict[str, float | None] | None) -> aiohttp.ClientTimeout:
        """httpx's ``timeout`` extension as aiohttp's timers: ``pool`` bounds the wait for a free
        connection and the connect together, as aiohttp times it."""
        timeout = timeout or {}
        key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        client_timeout = self._timeouts.get(key)
        if client_timeout is None:
            client_timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                sock_connect=key[0], sock_read=key[1], connect=key[2]
            )
        return client_timeout

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
