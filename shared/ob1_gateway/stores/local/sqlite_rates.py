"""Rate-limit counters in the local SQLite database: the ``RateStore`` for ``ob1gw serve --workers N``,
where every worker process must see the same counts (one process uses ``memory_rates`` instead).

Each check-and-count is one ``BEGIN IMMEDIATE`` transaction, so two workers never both take the last
request of a minute. Requests in flight are counted per worker process, named by its pid and start
time: a worker that died holding slots (killed mid-request, or the whole server killed and restarted,
when a new process may get the same pid) no longer matches, and its slots are freed."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .local_stores import SqliteDatabase

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
    process TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (key_id, process)
);
"""


def _started(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, from /proc), "" where that is unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _process_id(pid: int) -> str:
    return f"{pid}:{_started(pid)}"


def _alive(process: str) -> bool:
    pid, _, started = process.partition(":")
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return _started(int(pid)) == started


class SqliteRateStore:
    blocking = True  # file I/O: called from a worker thread

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db
        self._me = _process_id(os.getpid())
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
            rows = conn.execute("SELECT process, n FROM rate_inflight WHERE key_id = ?", (key_id,)).fetchall()
            held = 0
            for row in rows:
                if row["process"] == self._me or _alive(row["process"]):
                    held += row["n"]
                else:
                    conn.execute("DELETE FROM rate_inflight WHERE key_id = ? AND process = ?", (key_id, row["process"]))
            if held >= max_parallel:
                return False
            conn.execute(
                "INSERT INTO rate_inflight (key_id, process, n) VALUES (?, ?, 1)"
                " ON CONFLICT (key_id, process) DO UPDATE SET n = n + 1",
                (key_id, self._me),
            )
            return True

    def leave(self, key_id: str) -> None:
        with self._transaction() as conn:
            me = (key_id, self._me)
            conn.execute("UPDATE rate_inflight SET n = n - 1 WHERE key_id = ? AND process = ?", me)
            conn.execute("DELETE FROM rate_inflight WHERE key_id = ? AND process = ? AND n <= 0", me)
