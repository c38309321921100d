"""The key caches: bounded whatever callers send, a revocation seen once the TTL passes, refusals kept
apart from the team's keys, and a key that could not have been issued never read at all."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from ob1_gateway.access.authenticator import KeyAuthenticator, KeyRefused
from ob1_gateway.access.keys import issue_key
from ob1_gateway.stores.base import KeyRecord
from ob1_gateway.stores.local.local_stores import SqliteDatabase, SqliteKeyStore


class CountingStore(SqliteKeyStore):
    """The real SQLite store, noting the ids it was asked for."""

    def __init__(self, db: SqliteDatabase) -> None:
        super().__init__(db)
        self.reads: list[str] = []

    def get(self, key_id: str) -> KeyRecord | None:
        self.reads.append(key_id)
        return super().get(key_id)


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    return CountingStore(SqliteDatabase(tmp_path / "db.sqlite3"))


async def _status(auth: KeyAuthenticator, key: str) -> int:
    try:
        await auth.authenticate(key, lambda _: None)
    except KeyRefused as exc:
        return exc.status
    return 200


def test_caches_are_bounded_and_refusals_never_evict_real_keys(store: CountingStore) -> None:
    record, key = issue_key("a")
    store.put(record)
    auth = KeyAuthenticator(store, ttl_seconds=60, miss_ttl_seconds=60, max_entries=50)

    async def run() -> None:
        assert await _status(auth, key) == 200
        for _ in range(500):
            assert await _status(auth, issue_key("forged")[1]) == 401
        assert auth._refused is not None and len(auth._refused) <= 50
        del store.reads[:]
        assert await _status(auth, key) == 200
        assert store.reads == [], "500 forged ids later, the real key is still answered from memory"

    asyncio.run(run())


def test_revocation_is_seen_once_the_ttl_passes(store: CountingStore) -> None:
    record, key = issue_key("a")
    store.put(record)
    auth = KeyAuthenticator(store, ttl_seconds=0.2)

    async def run() -> None:
        assert await _status(auth, key) == 200
        store.set_disabled(record.key_id, True)
        assert await _status(auth, key) == 200  # cached
        time.sleep(0.25)
        assert await _status(auth, key) == 403

    asyncio.run(run())


def test_zero_ttl_reads_the_store_every_time(store: CountingStore) -> None:
    record, key = issue_key("b")
    store.put(record)
    auth = KeyAuthenticator(store, ttl_seconds=0, miss_ttl_seconds=0)

    async def run() -> int:
        await _status(auth, key)
        store.set_disabled(record.key_id, True)
        return await _status(auth, key)

    assert asyncio.run(run()) == 403
    assert store.reads == [record.key_id, record.key_id]


def test_a_rotated_secret_works_at_once(store: CountingStore) -> None:
    """The cached record does not know the new secret; no refusal is cached for the id, so it is read."""
    from ob1_gateway.access.keys import rotate_key

    record, old = issue_key("c")
    store.put(record)
    auth = KeyAuthenticator(store, ttl_seconds=60)

    async def run() -> None:
        assert await _status(auth, old) == 200
        sha, policy, new = rotate_key(record, grace_seconds=0)
        store.set_secret_and_policy(record.key_id, sha, policy)
        assert await _status(auth, new) == 200
        assert await _status(auth, old) == 401

    asyncio.run(run())


@pytest.mark.parametrize(
    "key",
    [
        "",
        "sk-ant-api03-abc",
        "ob1gw_0123456789ab_" + "A" * 31,  # one short
        "ob1gw_0123456789ab_" + "A" * 33,  # one long
        "ob1gw_0123456789AB_" + "A" * 32,  # upper-case id
        "ob1gw_0123456789ab_" + "A" * 31 + "_",  # "_" is never in a secret
        "ob1gw_0123456789ab_" + "A" * 31 + "=",
        "OB1GW_0123456789ab_" + "A" * 32,
        "ob1gw_0123456789a_" + "A" * 33,  # the right total length, the id one short
    ],
)
def test_a_key_that_could_not_have_been_issued_is_never_read(store: CountingStore, key: str) -> None:
    auth = KeyAuthenticator(store, ttl_seconds=60)
    assert asyncio.run(_status(auth, key)) == 401
    assert store.reads == []
