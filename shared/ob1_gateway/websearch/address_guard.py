"""The addresses a fetch made on a caller's behalf may never reach: loopback, private, link-local (the cloud
metadata service among them), CGNAT, multicast, reserved and unspecified ones, in IPv4 and IPv6 (IPv4 written
inside IPv6 included). Checked on the addresses a name resolves to, by the resolver the connection itself uses:
the check and the connect see the same answer, so DNS rebinding cannot slip another address in between."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

__all__ = ["ForbiddenAddress", "GuardedResolver", "forbidden_reason"]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenAddress(OSError):
    """A fetch was about to reach an address it may not (an ``OSError``, as a connection failure is)."""


def forbidden_reason(address: str) -> str | None:
    """Why ``address`` (an IP, as text) may not be fetched from; None when it may."""
    try:
        ip: _IPAddress = ipaddress.ip_address(address.split("%", 1)[0])  # a zone index is not part of it
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    checks = (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local (the cloud metadata service is here)"),
        (ip.is_private, "private"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "shared (CGNAT)"),
        (ip.is_multicast, "multicast"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_reserved, "reserved"),
    )
    return next((why for hit, why in checks if hit), None)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, keeping only addresses a fetch may reach; ``ForbiddenAddress`` when none is left.
    ``allowed`` opens networks the guard would refuse (tests only: a fake server must live somewhere local)."""

    def __init__(self, resolver: AbstractResolver | None = None, *, allowed: Iterable[str] = ()) -> None:
        self._resolver = resolver or DefaultResolver()
        self._allowed = tuple(ipaddress.ip_network(n) for n in allowed)

    def reason(self, address: str) -> str | None:
        """Why ``address`` may not be reached here (``forbidden_reason``, less what ``allowed`` opens)."""
        why = forbidden_reason(address)
        if why is None or not self._allowed:
            return why
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return None if any(ip in network for network in self._allowed) else why

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[ResolveResult]:
        answers = await self._resolver.resolve(host, port, family)
        kept = [a for a in answers if self.reason(a["host"]) is None]
        if not kept:
            reasons = sorted({f"{a['host']} is {self.reason(a['host'])}" for a in answers})
            raise ForbiddenAddress(f"{host} resolves only to addresses a fetch may not reach: {', '.join(reasons)}")
        return kept

    async def close(self) -> None:
        await self._resolver.close()
