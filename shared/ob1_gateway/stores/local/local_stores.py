"""Local backend: the OB-1 token in a 0600 JSON file, keys and usage in one SQLite database."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..base import KeyPolicy, KeyRecord, OB1Token, UsageRecord, UsageTotal, utc_day


class FileTokenStore:
    """The token as JSON, replaced atomically so a crash never leaves half a rotated refresh token."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_suffix(path.suffix + ".lock")

    def load(self) -> OB1Token | None:
        try:
            return OB1Token.from_dict(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return None

    def save(self, token: OB1Token) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".token-", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(token.to_dict(), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextmanager
    def lease(self) -> Iterator[None]:
        """An exclusive flock, so gateway processes sharing this file refresh one at a time."""
        self._lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self._lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at REAL NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    budget_usd REAL,
    policy TEXT
);
CREATE TABLE IF NOT EXISTS usage (
    request_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    route TEXT NOT NULL,
    stream INTEGER NOT NULL,
    status INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cost_micros INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    ts REAL NOT NULL,
    day TEXT NOT NULL,
    estimated INTEGER NOT NULL DEFAULT 0,
    session_id TEXT NOT NULL DEFAULT '',
    web_searches INTEGER NOT NULL DEFAULT 0,
    web_fetches INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS usage_key_ts ON usage (key_id, ts);
"""


class SqliteDatabase:
    """One connection per thread to a WAL-mode database shared by the key and usage stores."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Keys' hashes and the team's usage: the owner's only, however the folder came to be (SQLite gives
        # its -wal and -shm files the database file's mode).
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        with self.connect() as conn:
            conn.executescript(_SCHEMA)
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(keys)")}
            if "policy" not in columns:  # a database made before key policies
                conn.execute("ALTER TABLE keys ADD COLUMN policy TEXT")
            usage_columns = {row["name"] for row in conn.execute("PRAGMA table_info(usage)")}
            if "estimated" not in usage_columns:  # a database made before estimated records
                conn.execute("ALTER TABLE usage ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0")
            if "session_id" not in usage_columns:  # a database made before session ids
                conn.execute("ALTER TABLE usage ADD COLUMN session_id TEXT NOT NULL DEFAULT ''")
            for column in ("web_searches", "web_fetches"):  # a database made before the gateway's web tools
                if column not in usage_columns:
                    conn.execute(f"ALTER TABLE usage ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")

    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn


def _key_from_row(row: sqlite3.Row) -> KeyRecord:
    return KeyRecord(
        key_id=row["key_id"],
        name=row["name"],
        secret_sha256=row["secret_sha256"],
        created_at=row["created_at"],
        disabled=bool(row["disabled"]),
        budget_usd=row["budget_usd"],
        policy=KeyPolicy.from_dict(json.loads(row["policy"]) if row["policy"] else None),
    )


class SqliteKeyStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def put(self, record: KeyRecord) -> None:
        self.db.connect().execute(
            "INSERT INTO keys (key_id, name, secret_sha256, created_at, disabled, budget_usd, policy)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.key_id,
                record.name,
                record.secret_sha256,
                record.created_at,
                int(record.disabled),
                record.budget_usd,
                json.dumps(record.policy.to_dict()),
            ),
        )

    def get(self, key_id: str) -> KeyRecord | None:
        row = self.db.connect().execute("SELECT * FROM keys WHERE key_id = ?", (key_id,)).fetchone()
        return _key_from_row(row) if row else None

    def list(self) -> list[KeyRecord]:
        rows = self.db.connect().execute("SELECT * FROM keys ORDER BY created_at").fetchall()
        return [_key_from_row(row) for row in rows]

    def set_disabled(self, key_id: str, disabled: bool) -> bool:
        cur = self.db.connect().execute("UPDATE keys SET disabled = ? WHERE key_id = ?", (int(disabled), key_id))
        return cur.rowcount == 1

    def set_budget(self, key_id: str, budget_usd: float | None) -> bool:
        cur = self.db.connect().execute("UPDATE keys SET budget_usd = ? WHERE key_id = ?", (budget_usd, key_id))
        return cur.rowcount == 1

    def set_secret_and_policy(
        self, key_id: str, secret_sha256: str, policy: KeyPolicy, *, expected_sha256: str | None = None
    ) -> bool:
        cur = self.db.connect().execute(
            "UPDATE keys SET secret_sha256 = ?, policy = ? WHERE key_id = ? AND (? IS NULL OR secret_sha256 = ?)",
            (secret_sha256, json.dumps(policy.to_dict()), key_id, expected_sha256, expected_sha256),
        )
        return cur.rowcount == 1


_GROUPABLE = {"key_id": "key_id", "model": "model", "day": "day", "session_id": "session_id"}
_USAGE_COLUMNS = (
    "request_id",
    "key_id",
    "model",
    "route",
    "stream",
    "status",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_micros",
    "latency_ms",
    "ts",
    "estimated",
    "session_id",
    "web_searches",
    "web_fetches",
)


class SqliteUsageStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    _INSERT = (
        f"INSERT OR IGNORE INTO usage ({', '.join(_USAGE_COLUMNS)}, day)"
        f" VALUES ({', '.join('?' * len(_USAGE_COLUMNS))}, ?)"
    )

    def record(self, usage: UsageRecord) -> bool:
        return self.record_many([usage]) == [True]

    def record_many(self, batch: list[UsageRecord]) -> list[bool]:
        """One transaction for the batch: one commit instead of one per request under load."""
        conn = self.db.connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            stored = [
                conn.execute(self._INSERT, [*(getattr(u, n) for n in _USAGE_COLUMNS), utc_day(u.ts)]).rowcount == 1
                for u in batch
            ]
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return stored

    def totals(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        key_id: str | None = None,
        group_by: tuple[str, ...] = ("key_id", "model"),
    ) -> list[UsageTotal]:
        unknown = set(group_by) - set(_GROUPABLE)
        if unknown:
            raise ValueError(f"cannot group usage by {sorted(unknown)}")
        where: list[str] = ["1=1"]
        params: list[float | str] = []
        if since is not None:
            where.append("ts >= ?")
            params.append(since)
        if until is not None:
            where.append("ts < ?")
            params.append(until)
        if key_id is not None:
            where.append("key_id = ?")
            params.append(key_id)
        cols = [_GROUPABLE[g] for g in group_by]
        select = ", ".join(
            [
                *cols,
                "COUNT(*) AS requests",
                "SUM(input_tokens) AS input_tokens",
                "SUM(output_tokens) AS output_tokens",
                "SUM(cache_read_tokens) AS cache_read_tokens",
                "SUM(cache_write_tokens) AS cache_write_tokens",
                "SUM(cost_micros) AS cost_micros",
                "SUM(estimated) AS estimated_requests",
                "SUM(web_searches) AS web_searches",
                "SUM(web_fetches) AS web_fetches",
            ]
        )
        sql = f"SELECT {select} FROM usage WHERE {' AND '.join(where)}"
        if cols:
            sql += f" GROUP BY {', '.join(cols)} ORDER BY {', '.join(cols)}"
        rows = self.db.connect().execute(sql, params).fetchall()
        return [
            UsageTotal(
                key_id=row["key_id"] if "key_id" in group_by else None,
                model=row["model"] if "model" in group_by else None,
                day=row["day"] if "day" in group_by else None,
                session_id=row["session_id"] if "session_id" in group_by else None,
                requests=row["requests"],
                input_tokens=row["input_tokens"] or 0,
                output_tokens=row["output_tokens"] or 0,
                cache_read_tokens=row["cache_read_tokens"] or 0,
                cache_write_tokens=row["cache_write_tokens"] or 0,
                cost_micros=row["cost_micros"] or 0,
                estimated_requests=row["estimated_requests"] or 0,
                web_searches=row["web_searches"] or 0,
                web_fetches=row["web_fetches"] or 0,
            )
            for row in rows
            if row["requests"]
        ]

    def records(self) -> Iterator[UsageRecord]:
        for row in self.db.connect().execute(f"SELECT {', '.join(_USAGE_COLUMNS)} FROM usage ORDER BY ts"):
            data = dict(row)
            data["stream"], data["estimated"] = bool(data["stream"]), bool(data["estimated"])
            yield UsageRecord(**data)
