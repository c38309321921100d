"""The key cache: bounded whatever callers send, and a revocation is seen once the TTL passes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from ob1_gateway.api.auth import KeyAuthenticator
from ob1_gateway.keys import issue_key
from ob1_gateway.stores.local import SqliteDatabase, SqliteKeyStore


def test_cache_is_bounded_and_expires(tmp_path: Path) -> None:
    store = SqliteKeyStore(SqliteDatabase(tmp_path / "db.sqlite3"))
    record, _ = issue_key("a")
    store.put(record)
    auth = KeyAuthenticator(store, ttl_seconds=0.2, max_entries=50)

    async def run() -> None:
        for i in range(500):
            assert await auth._record(f"{i:012x}") is None
        assert auth._cache is not None and len(auth._cache) <= 50
        assert (await auth._record(record.key_id)) == record
        store.set_disabled(record.key_id, True)
        assert not (await auth._record(record.key_id)).disabled  # cached
        time.sleep(0.25)
        assert (await auth._record(record.key_id)).disabled

    asyncio.run(run())


def test_zero_ttl_reads_the_store_every_time(tmp_path: Path) -> None:
    store = SqliteKeyStore(SqliteDatabase(tmp_path / "db.sqlite3"))
    record, _ = issue_key("b")
    store.put(record)
    auth = KeyAuthenticator(store, ttl_seconds=0)

    async def run() -> bool:
        await auth._record(record.key_id)
        store.set_disabled(record.key_id, True)
        return (await auth._record(record.key_id)).disabled

    assert asyncio.run(run())
