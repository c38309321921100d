"""aiohttp plumbing both upstream clients share (the model backend's and WorkOS's): which proxy the
environment names, and what a transport failure means."""

from __future__ import annotations

import logging
import urllib.request

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError

# What the wire can raise: aiohttp's client errors, and the parser's own when aiohttp runs without its C
# extensions (AIOHTTP_NO_EXTENSIONS, or a platform without wheels), which are not ClientErrors.
WIRE_ERRORS: tuple[type[Exception], ...] = (aiohttp.ClientError, HttpProcessingError)

log = logging.getLogger(__name__)


def transport_fault(exc: Exception) -> tuple[str, bool]:
    """What went wrong on the wire, in words a caller understands (no library class names), and whether
    it is a failure of the connection rather than of an answer (before any response, a retry is safe)."""
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
