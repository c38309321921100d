"""Caller authentication: ``x-api-key`` or ``Authorization: Bearer`` checked against the key store.

Lookups (hits and misses) are cached per process for ``key_cache_ttl_seconds`` (≤ 60 s), which
bounds how long a revoked key keeps working and keeps the key store off the hot path; the cache is
bounded, so a flood of made-up key ids cannot grow memory.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from cachetools import TTLCache
from fastapi import Request

from ..keys import expired, parse_key, secret_matches
from ..stores.base import KeyRecord, KeyStore
from .errors import ApiError
from .request_id import remember_key


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


_MISSING = object()


class KeyAuthenticator:
    def __init__(self, store: KeyStore, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.store = store
        self._cache: TTLCache[str, KeyRecord | None] | None = (
            TTLCache(maxsize=max_entries, ttl=ttl_seconds) if ttl_seconds > 0 else None
        )

    async def _record(self, key_id: str, *, fresh: bool = False) -> KeyRecord | None:
        if self._cache is None:
            return await asyncio.to_thread(self.store.get, key_id)
        hit = self._cache.get(key_id, _MISSING) if not fresh else _MISSING
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        record = await asyncio.to_thread(self.store.get, key_id)
        self._cache[key_id] = record
        return record

    async def authenticate(self, request: Request) -> KeyRecord:
        key = presented_key(request)
        if key is None:
            raise ApiError(
                401, "missing API key: send it as 'x-api-key' or 'Authorization: Bearer'", code="missing_api_key"
            )
        parsed = parse_key(key)
        record = await self._record(parsed[0]) if parsed else None
        if record is not None and parsed is not None and not secret_matches(record, parsed[1]):
            record = await self._record(parsed[0], fresh=True)  # rotated since it was cached?
        if record is None or parsed is None or not secret_matches(record, parsed[1]):
            raise ApiError(401, "invalid API key", code="invalid_api_key")
        remember_key(request, record)
        if record.disabled:
            raise ApiError(403, f"API key {record.key_id} has been revoked", code="key_revoked")
        if expired(record.policy):
            when = datetime.fromtimestamp(record.policy.expires_at or 0, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise ApiError(401, f"API key {record.key_id} expired at {when}", code="key_expired")
        return record
