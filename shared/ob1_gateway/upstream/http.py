"""aiohttp plumbing both upstream clients share (the model backend's and WorkOS's): which proxy the
environment names, and what a transport failure means."""

from __future__ import annotations

import urllib.request

import aiohttp


def transport_fault(exc: aiohttp.ClientError) -> tuple[str, bool]:
    """What went wrong on the wire, in words a caller understands (no library class names), and whether
    it is a failure of the connection rather than of an answer (before any response, a retry is safe)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "cannot connect", True
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the upstream closed the connection", True
    if isinstance(exc, aiohttp.ClientOSError):
        return "the connection was reset", True
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the response was cut off", False
    if isinstance(exc, aiohttp.ClientResponseError):
        return "the response was not valid HTTP", False
    return "the connection failed", False


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``/``HTTP_PROXY``, ``NO_PROXY``), read once:
    aiohttp's own ``trust_env`` would look it up, and read ``~/.netrc``, in a thread on every request."""
    proxies = urllib.request.getproxies()
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if not proxies or urllib.request.proxy_bypass(host.split(":", 1)[0]):
        return None
    return proxies.get(scheme) or proxies.get("all")
