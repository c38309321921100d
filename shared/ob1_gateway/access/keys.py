"""Caller keys: issue, parse and verify. Pure code; the stores only persist ``KeyRecord``s.

A key reads ``ob1gw_<key_id>_<secret>``. The key id is public (it names the key in usage and logs);
only the sha256 of the secret is kept, and it is compared in constant time.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime

from ..stores.base import KeyPolicy, KeyRecord

PREFIX = "ob1gw_"
_ID_BYTES = 6
_SECRET_BYTES = 24
# What issue_key and rotate_key produce, exactly: 12 lowercase hex digits, then 32 characters of
# token_urlsafe's alphabet with "_" replaced by "x". Anything else is refused before any store read.
_KEY_SHAPE = re.compile(rf"{PREFIX}([0-9a-f]{{{_ID_BYTES * 2}}})_([A-Za-z0-9-]{{{_SECRET_BYTES * 4 // 3}}})")
_KEY_LENGTH = len(PREFIX) + _ID_BYTES * 2 + 1 + _SECRET_BYTES * 4 // 3


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return secrets.token_urlsafe(_SECRET_BYTES).replace("_", "x")


def issue_key(name: str, budget_usd: float | None = None, policy: KeyPolicy | None = None) -> tuple[KeyRecord, str]:
    """A new record and the plaintext key, which is shown once and never stored."""
    key_id = secrets.token_hex(_ID_BYTES)
    secret = _new_secret()
    record = KeyRecord(
        key_id=key_id,
        name=name,
        secret_sha256=_hash(secret),
        created_at=time.time(),
        budget_usd=budget_usd,
        policy=policy or KeyPolicy(),
    )
    return record, f"{PREFIX}{key_id}_{secret}"


def rotate_key(record: KeyRecord, grace_seconds: float, now: float | None = None) -> tuple[str, KeyPolicy, str]:
    """A new secret for the same key id (its usage and budget stay with the id): the new hash, the policy
    that keeps accepting the old secret for ``grace_seconds``, and the plaintext key to show once."""
    secret = _new_secret()
    until = (time.time() if now is None else now) + grace_seconds
    policy = replace(record.policy, previous_sha256=record.secret_sha256, previous_valid_until=until)
    return _hash(secret), policy, f"{PREFIX}{record.key_id}_{secret}"


def parse_key(presented: str) -> tuple[str, str] | None:
    """Split a presented key into (key_id, secret), or None if it is not shaped exactly like one we issue
    (prefix, length, alphabet): such a key cannot exist, so it costs no store read."""
    if len(presented) != _KEY_LENGTH:
        return None
    match = _KEY_SHAPE.fullmatch(presented)
    return (match.group(1), match.group(2)) if match else None


def secret_matches(record: KeyRecord, secret: str, now: float | None = None) -> bool:
    """The current secret, or the one before the last rotation while its grace time lasts."""
    presented = _hash(secret)
    if hmac.compare_digest(record.secret_sha256, presented):
        return True
    previous, until = record.policy.previous_sha256, record.policy.previous_valid_until
    if previous is None or until is None or (time.time() if now is None else now) >= until:
        return False
    return hmac.compare_digest(previous, presented)


def model_allowed(policy: KeyPolicy, upstream_id: str) -> bool:
    """True when the key may use the upstream model ``upstream_id``: the id that is served, never the name
    asked for, so no alias, normalisation or family fallback can reach past the key's patterns."""
    return not policy.models or any(fnmatch.fnmatchcase(upstream_id, p) for p in policy.models)


def expired(policy: KeyPolicy, now: float | None = None) -> bool:
    return policy.expires_at is not None and (time.time() if now is None else now) >= policy.expires_at


_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float | None:
    """Seconds in ``30d``/``12h``/``90m``/``2w``; None for anything else."""
    match = _DURATION.match(text.strip())
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def parse_expiry(text: str, now: float | None = None) -> float:
    """``30d``/``12h``/``90m``/``2w`` from now, or an ISO date or date-time (UTC unless it says otherwise)."""
    duration = parse_duration(text)
    if duration is not None:
        return (time.time() if now is None else now) + duration
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a duration (30d, 12h, 90m, 2w) or an ISO date: {text!r}") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
