"""Caller keys and the SQLite stores: hashes only, exact sums, idempotent usage writes."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from ob1_gateway.access.keys import issue_key, parse_key, secret_matches
from ob1_gateway.stores.base import UsageRecord
from ob1_gateway.stores.local.local_stores import SqliteDatabase, SqliteKeyStore, SqliteUsageStore


def test_key_roundtrip_and_rejections() -> None:
    record, key = issue_key("alice", 12.5)
    assert key.startswith("ob1gw_")
    key_id, secret = parse_key(key)  # type: ignore[misc]
    assert key_id == record.key_id
    assert secret_matches(record, secret)
    assert not secret_matches(record, secret[:-1] + ("a" if secret[-1] != "a" else "b"))
    assert parse_key("sk-ant-whatever") is None
    assert parse_key("ob1gw_short_secret") is None
    assert secret not in repr(record) and record.secret_sha256 not in repr(record)


def test_key_store_keeps_only_the_hash(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "gw.sqlite3")
    store = SqliteKeyStore(db)
    record, key = issue_key("bob")
    store.put(record)
    raw = sqlite3.connect(tmp_path / "gw.sqlite3").execute("SELECT * FROM keys").fetchall()
    assert key.split("_", 2)[2] not in repr(raw)
    assert store.get(record.key_id) == record
    assert store.set_disabled(record.key_id, True)
    assert store.get(record.key_id).disabled  # type: ignore[union-attr]
    assert store.set_budget(record.key_id, 3.0)
    assert store.get(record.key_id).budget_usd == 3.0  # type: ignore[union-attr]
    assert not store.set_disabled("nope", True)
    assert [r.key_id for r in store.list()] == [record.key_id]


def _usage(request_id: str, key_id: str = "k1", model: str = "m", n: int = 1, ts: float | None = None) -> UsageRecord:
    return UsageRecord(
        request_id=request_id,
        key_id=key_id,
        model=model,
        route="/v1/messages",
        stream=True,
        status=200,
        input_tokens=n,
        output_tokens=2 * n,
        cache_read_tokens=3 * n,
        cache_write_tokens=4 * n,
        cost_micros=5 * n,
        latency_ms=1.0,
        ts=ts or time.time(),
    )


def test_usage_is_written_once_per_request_id(tmp_path: Path) -> None:
    store = SqliteUsageStore(SqliteDatabase(tmp_path / "gw.sqlite3"))
    assert store.record(_usage("r1"))
    assert not store.record(_usage("r1", n=100))
    [total] = store.totals()
    assert (total.requests, total.input_tokens, total.cost_micros) == (1, 1, 5)


def test_concurrent_usage_sums_exactly(tmp_path: Path) -> None:
    store = SqliteUsageStore(SqliteDatabase(tmp_path / "gw.sqlite3"))

    def write(worker: int) -> None:
        for i in range(100):
            store.record(_usage(f"{worker}-{i}", key_id=f"k{worker % 2}", n=i))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals = {t.key_id: t for t in store.totals(group_by=("key_id",))}
    expected_n = 4 * sum(range(100))
    assert totals["k0"].requests == totals["k1"].requests == 400
    assert totals["k0"].input_tokens == expected_n
    assert totals["k1"].cost_micros == 5 * expected_n
    assert sum(1 for _ in store.records()) == 800


def test_totals_filter_by_time_key_and_group_by_day(tmp_path: Path) -> None:
    store = SqliteUsageStore(SqliteDatabase(tmp_path / "gw.sqlite3"))
    day1, day2 = 1_700_000_000.0, 1_700_000_000.0 + 86_400
    store.record(_usage("a", ts=day1))
    store.record(_usage("b", ts=day2, model="m2"))
    store.record(_usage("c", key_id="k2", ts=day2))
    by_day = store.totals(group_by=("day",))
    assert [(t.day, t.requests) for t in by_day] == [("2023-11-14", 1), ("2023-11-15", 2)]
    assert [t.model for t in store.totals(since=day2, key_id="k1")] == ["m2"]
    assert store.totals(until=day1 - 1) == []


def test_a_database_from_before_estimated_records_is_migrated(tmp_path: Path) -> None:
    """An existing usage table gains the ``estimated`` column; its rows read as not estimated."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE usage (request_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, model TEXT NOT NULL,"
            " route TEXT NOT NULL, stream INTEGER NOT NULL, status INTEGER NOT NULL, input_tokens INTEGER NOT NULL,"
            " output_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,"
            " cost_micros INTEGER NOT NULL, latency_ms REAL NOT NULL, ts REAL NOT NULL, day TEXT NOT NULL);"
            "INSERT INTO usage VALUES ('old', 'k', 'm', '/v1/messages', 1, 200, 10, 5, 0, 0, 7, 1.0, 1000.0,"
            " '1970-01-01');"
        )
    store = SqliteUsageStore(SqliteDatabase(path))
    store.record(UsageRecord("new", "k", "m", "/v1/messages", True, 499, 100, 20, cost_micros=9, estimated=True))
    assert {r.request_id: r.estimated for r in store.records()} == {"old": False, "new": True}
    [total] = store.totals(group_by=("key_id",))
    assert (total.requests, total.estimated_requests, total.cost_micros) == (2, 1, 16)


def test_a_database_made_before_session_ids_is_migrated(tmp_path: Path) -> None:
    """An existing gateway.sqlite3 (usage without ``session_id``) opens, keeps its rows, and records sessions."""
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE usage (request_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, model TEXT NOT NULL,"
        " route TEXT NOT NULL, stream INTEGER NOT NULL, status INTEGER NOT NULL, input_tokens INTEGER NOT NULL,"
        " output_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,"
        " cost_micros INTEGER NOT NULL, latency_ms REAL NOT NULL, ts REAL NOT NULL, day TEXT NOT NULL,"
        " estimated INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO usage VALUES ('old', 'k', 'm', '/v1/messages', 0, 200, 1, 1, 0, 0, 5, 1.0, 1.0, '1970-01-01', 0);"
    )
    old.commit()
    old.close()
    store = SqliteUsageStore(SqliteDatabase(path))
    assert store.record(UsageRecord("new", "k", "m", "/v1/messages", False, 200, session_id="s-1"))
    by_session = {t.session_id: t.requests for t in store.totals(group_by=("session_id",))}
    assert by_session == {"": 1, "s-1": 1}
