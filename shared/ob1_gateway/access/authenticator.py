"""Caller authentication: a presented key checked against the key store (the HTTP layer finds the key in
the request: ``api/request_admission.py``).

A key that could not have been issued (``keys.parse_key``: prefix, length, alphabet) is refused without
a store read. Otherwise two per-process caches keep the store off the path, each bounded, so a flood of
made-up key ids cannot grow memory:

- known keys, for ``key_cache_ttl_seconds`` (≤ 60 s): bounds how long a revoked key keeps working. Only
  records read from the store enter it, so forged ids cannot evict the team's keys.
- refusals, for ``key_miss_cache_ttl_seconds`` (≤ 60 s, 10 s by default): what the store answered for
  a key id when a presented key was refused (no such id, or a secret that did not match). A key that
  does not match that answer is refused from it, so a forged key repeated costs one store read per
  TTL per process. A key created after its id was refused, or a secret rotated after a wrong one was
  tried, works once the entry expires; a key that matches the cached answer is always read afresh, so
  someone who knows a key id cannot lock its holder out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from cachetools import TTLCache

from ..stores.base import KeyRecord, KeyStore
from .keys import expired, parse_key, secret_matches

__all__ = ["KeyAuthenticator", "KeyRefused"]


class KeyRefused(Exception):
    """The presented key opens nothing: ``status`` 401 (missing, invalid, expired) or 403 (revoked)."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


_NOT_CACHED = object()


def _invalid() -> KeyRefused:
    return KeyRefused(401, "invalid API key", "invalid_api_key")


def _cache(ttl_seconds: float, max_entries: int) -> TTLCache[str, KeyRecord | None] | None:
    return TTLCache(maxsize=max_entries, ttl=ttl_seconds) if ttl_seconds > 0 else None


class KeyAuthenticator:
    def __init__(
        self, store: KeyStore, ttl_seconds: float, miss_ttl_seconds: float = 10.0, max_entries: int = 10_000
    ) -> None:
        self.store = store
        self._known = _cache(ttl_seconds, max_entries)
        self._refused = _cache(miss_ttl_seconds, max_entries)

    def _refused_from_cache(self, key_id: str, secret: str) -> bool:
        """True when what the store answered at this id's last refusal (within the TTL) refuses ``secret``
        too: no such id, or a record whose secret it is not."""
        answer = self._refused.get(key_id, _NOT_CACHED) if self._refused is not None else _NOT_CACHED
        if answer is _NOT_CACHED:
            return False
        return not (isinstance(answer, KeyRecord) and secret_matches(answer, secret))

    async def _verified(self, key_id: str, secret: str) -> KeyRecord:
        """The record whose secret ``secret`` is, from the caches or one store read; 401 otherwise."""
        known = self._known.get(key_id) if self._known is not None else None
        if known is not None and secret_matches(known, secret):
            return known
        if self._refused_from_cache(key_id, secret):
            raise _invalid()
        record = await asyncio.to_thread(self.store.get, key_id)
        if record is not None and self._known is not None:
            self._known[key_id] = record
        if record is None or not secret_matches(record, secret):
            if self._refused is not None:
                self._refused[key_id] = record
            raise _invalid()
        return record

    async def authenticate(self, presented: str | None, on_key: Callable[[KeyRecord], None]) -> KeyRecord:
        """The record of the ``presented`` key, if it may be used; ``on_key`` is told of the record as soon
        as its secret matched, so even a revoked or expired key's refusal can be logged under its id."""
        if presented is None:
            raise KeyRefused(
                401, "missing API key: send it as 'x-api-key' or 'Authorization: Bearer'", "missing_api_key"
            )
        parsed = parse_key(presented)
        if parsed is None:
            raise _invalid()
        record = await self._verified(*parsed)
        on_key(record)
        if record.disabled:
            raise KeyRefused(403, f"API key {record.key_id} has been revoked", "key_revoked")
        if expired(record.policy):
            when = datetime.fromtimestamp(record.policy.expires_at or 0, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise KeyRefused(401, f"API key {record.key_id} expired at {when}", "key_expired")
        return record
