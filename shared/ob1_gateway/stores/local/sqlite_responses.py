"""Stored Responses in the local SQLite database (``ob1gw serve``): one row per response, gzip'd JSON."""

from __future__ import annotations

import time

from ..base import StoredResponse
from .local_stores import SqliteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key_id TEXT NOT NULL,
    response_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (key_id, response_id)
);
CREATE INDEX IF NOT EXISTS responses_expiry ON responses (expires_at);
"""


class SqliteResponseStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db
        self.db.connect().executescript(_SCHEMA)

    def put(self, stored: StoredResponse) -> None:
        body = stored.to_bytes()
        conn = self.db.connect()
        conn.execute("BEGIN IMMEDIATE")  # one commit for the write and the sweep of what expired (indexed)
        try:
            conn.execute(
                "INSERT OR REPLACE INTO responses (key_id, response_id, expires_at, body) VALUES (?, ?, ?, ?)",
                (stored.key_id, stored.response_id, stored.expires_at, body),
            )
            conn.execute("DELETE FROM responses WHERE expires_at <= ?", (time.time(),))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def get(self, key_id: str, response_id: str) -> StoredResponse | None:
        row = (
            self.db.connect()
            .execute(
                "SELECT body FROM responses WHERE key_id = ? AND response_id = ? AND expires_at > ?",
                (key_id, response_id, time.time()),
            )
            .fetchone()
        )
        return StoredResponse.from_bytes(row["body"]) if row else None

    def delete(self, key_id: str, response_id: str) -> bool:
        cursor = self.db.connect().execute(
            "DELETE FROM responses WHERE key_id = ? AND response_id = ? AND expires_at > ?",
            (key_id, response_id, time.time()),
        )
        return cursor.rowcount > 0
