"""Caller keys: issue, parse and verify. Pure code; the stores only persist ``KeyRecord``s.

A key reads ``ob1gw_<key_id>_<secret>``. The key id is public (it names the key in usage and logs);
only the sha256 of the secret is kept, and it is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from .stores.base import KeyRecord

PREFIX = "ob1gw_"
_ID_BYTES = 6
_SECRET_BYTES = 24


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(name: str, budget_usd: float | None = None) -> tuple[KeyRecord, str]:
    """A new record and the plaintext key, which is shown once and never stored."""
    key_id = secrets.token_hex(_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES).replace("_", "x")
    record = KeyRecord(
        key_id=key_id, name=name, secret_sha256=_hash(secret), created_at=time.time(), budget_usd=budget_usd
    )
    return record, f"{PREFIX}{key_id}_{secret}"


def parse_key(presented: str) -> tuple[str, str] | None:
    """Split a presented key into (key_id, secret), or None if it is not shaped like one of ours."""
    if not presented.startswith(PREFIX):
        return None
    key_id, sep, secret = presented[len(PREFIX) :].partition("_")
    if not sep or not key_id or not secret or len(key_id) != _ID_BYTES * 2:
        return None
    return key_id, secret


def secret_matches(record: KeyRecord, secret: str) -> bool:
    return hmac.compare_digest(record.secret_sha256, _hash(secret))
