"""Rate-limit counters in the local SQLite database: the ``RateStore`` for ``ob1gw serve --workers N``,
where every worker process must see the same counts (one process uses ``memory_rates`` instead).

Each check-and-count is one ``BEGIN IMMEDIATE`` transaction, so two workers never both take the last
request of a minute. Requests in flight are counted per worker process; a worker that died holding
slots (killed mid-request) is noticed by its pid and its slots are freed."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from .local import SqliteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_windows (
    key_id TEXT NOT NULL,
    window INTEGER NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, window)
);
CREATE TABLE IF NOT EXISTS rate_inflight (
    key_id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (key_id, pid)
);
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SqliteRateStore:
    blocking = True  # file I/O: called from a worker thread

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db
        db.connect().executescript(_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.db.connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def take(self, key_id: str, window: int, rpm: int | None, tpm: int | None) -> tuple[str | None, int, int]:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT requests, tokens FROM rate_windows WHERE key_id = ? AND window = ?", (key_id, window)
            ).fetchone()
            requests, tokens = (row["requests"], row["tokens"]) if row else (0, 0)
            if rpm is not None and requests >= rpm:
                return "requests", requests, tokens
            if tpm is not None and tokens >= tpm:
                return "tokens", requests, tokens
            conn.execute(
                "INSERT INTO rate_windows (key_id, window, requests) VALUES (?, ?, 1)"
                " ON CONFLICT (key_id, window) DO UPDATE SET requests = requests + 1",
                (key_id, window),
            )
            if row is None:  # a new minute for this key: forget its older ones
                conn.execute("DELETE FROM rate_windows WHERE key_id = ? AND window < ?", (key_id, window - 1))
            return None, requests + 1, tokens

    def add_tokens(self, key_id: str, window: int, tokens: int) -> None:
        self.db.connect().execute(
            "INSERT INTO rate_windows (key_id, window, tokens) VALUES (?, ?, ?)"
            " ON CONFLICT (key_id, window) DO UPDATE SET tokens = tokens + excluded.tokens",
            (key_id, window, tokens),
        )

    def enter(self, key_id: str, max_parallel: int) -> bool:
        with self._transaction() as conn:
            rows = conn.execute("SELECT pid, n FROM rate_inflight WHERE key_id = ?", (key_id,)).fetchall()
            held = 0
            for row in rows:
                if _alive(row["pid"]):
                    held += row["n"]
                else:
                    conn.execute("DELETE FROM rate_inflight WHERE key_id = ? AND pid = ?", (key_id, row["pid"]))
            if held >= max_parallel:
                return False
            conn.execute(
                "INSERT INTO rate_inflight (key_id, pid, n) VALUES (?, ?, 1)"
                " ON CONFLICT (key_id, pid) DO UPDATE SET n = n + 1",
                (key_id, os.getpid()),
            )
            return True

    def leave(self, key_id: str) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE rate_inflight SET n = n - 1 WHERE key_id = ? AND pid = ?", (key_id, os.getpid()))
            conn.execute("DELETE FROM rate_inflight WHERE key_id = ? AND pid = ? AND n <= 0", (key_id, os.getpid()))
