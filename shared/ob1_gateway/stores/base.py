"""The records the gateway keeps and the interfaces every backend implements.

Interfaces are synchronous: the SQLite, file and boto3 adapters are all blocking, and async callers
run them in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class OB1Token:
    """An OB-1 login. Secrets are excluded from repr so they never reach a log by accident."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float = 0.0  # epoch seconds
    organization_id: str | None = None
    user_id: str | None = None
    email: str | None = None

    def authorization(self) -> str:
        """The upstream header value: ``Bearer <access_token>:<org_id>`` (token alone without an org)."""
        if self.organization_id:
            return f"Bearer {self.access_token}:{self.organization_id}"
        return f"Bearer {self.access_token}"

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        return self.expires_at - (time.time() if now is None else now) <= seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OB1Token:
        return cls(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            expires_at=float(data.get("expires_at") or 0.0),
            organization_id=data.get("organization_id"),
            user_id=data.get("user_id"),
            email=data.get("email"),
        )


@dataclass(frozen=True)
class KeyPolicy:
    """What an admin set for a key beyond its budget: how fast it may go, which models it may use, when
    it stops working, and the secret it had before its last rotation (accepted until a grace time)."""

    rpm: int | None = None  # requests per minute
    tpm: int | None = None  # tokens per minute: prompt (cached included) + output
    max_parallel: int | None = None  # requests in flight at once
    models: tuple[str, ...] = ()  # glob patterns (fnmatch) on the requested or the upstream id; () = any
    expires_at: float | None = None  # epoch seconds
    searches_per_day: int | None = None  # the gateway's web searches per UTC day
    previous_sha256: str | None = field(default=None, repr=False)
    previous_valid_until: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v not in (None, ())}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> KeyPolicy:
        data = data or {}
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if "models" in known:
            known["models"] = tuple(known["models"])
        return cls(**known)


@dataclass(frozen=True)
class KeyRecord:
    """A caller key as stored: only the sha256 of its secret, never the secret."""

    key_id: str
    name: str
    secret_sha256: str = field(repr=False)
    created_at: float
    disabled: bool = False
    budget_usd: float | None = None
    policy: KeyPolicy = field(default_factory=KeyPolicy)


@dataclass(frozen=True)
class UsageRecord:
    """One request's usage; ``request_id`` makes writing it idempotent."""

    request_id: str
    key_id: str
    model: str
    route: str
    stream: bool
    status: int
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_micros: int = 0  # USD × 1e6, an integer so sums are exact
    latency_ms: float = 0.0
    ts: float = field(default_factory=time.time)
    # The tokens are the gateway's estimate, not the upstream's figure: the client left a stream before
    # the upstream reported its usage (the prompt as count_tokens estimates it, the text relayed so far).
    estimated: bool = False
    # The client's session id ("" when it named none): what a session cost can be asked (``--by session``).
    session_id: str = ""
    # The gateway's web tools the request ran (their cost is in cost_micros).
    web_searches: int = 0
    web_fetches: int = 0
    # For logs and metrics only, never stored: the key's name, the first upstream chunk's delay (streams),
    # and how much of the key's budget is used.
    key_name: str = field(default="", compare=False)
    ttft_ms: float | None = field(default=None, compare=False)
    # The share (%) of the key's monthly budget used once this request counts (keys with a budget).
    budget_used_pct: float | None = field(default=None, compare=False)

    @property
    def cost_usd(self) -> float:
        return self.cost_micros / 1_000_000


@dataclass(frozen=True)
class UsageTotal:
    """Summed usage for one (key, model, day, session) group; fields not grouped on are ``None``."""

    key_id: str | None
    model: str | None
    day: str | None
    requests: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_micros: int
    estimated_requests: int = 0  # of ``requests``, how many carry estimated tokens (UsageRecord.estimated)
    session_id: str | None = None
    web_searches: int = 0  # the gateway's web tools run (UsageRecord.web_searches / web_fetches)
    web_fetches: int = 0

    @property
    def cost_usd(self) -> float:
        return self.cost_micros / 1_000_000


# UsageTotal's summed fields, in order (the CLI's columns, the DynamoDB DAY counters).
USAGE_GROUPS = ("key_id", "model", "day", "session_id")
USAGE_COUNTERS = tuple(name for name in UsageTotal.__dataclass_fields__ if name not in USAGE_GROUPS)


@dataclass(frozen=True)
class StoredResponse:
    """A Responses API answer kept for ``previous_response_id``, ``item_reference`` and retrieval: the
    Response object as answered (reasoning items keep ``encrypted_content``, so a later turn can replay
    them) and the whole conversation that preceded its output (earlier turns and this request's input,
    references resolved), so that continuing it is one read however deep the chain."""

    key_id: str
    response_id: str
    created_at: float
    expires_at: float
    response: dict[str, Any]
    input_items: list[dict[str, Any]]
    size: int = field(default=0, compare=False)  # its JSON's bytes, as read (a conversation's size cap)

    def to_bytes(self) -> bytes:
        """gzip'd JSON at level 1: most of the size off for conversation text at a fraction of level 5's time
        (bench/README.md, "Stored Responses")."""
        body = {"v": 1, **asdict(self)}
        body.pop("size")
        return gzip.compress(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), compresslevel=1)

    @classmethod
    def from_bytes(cls, raw: bytes) -> StoredResponse:
        text = gzip.decompress(raw)
        data = json.loads(text)
        data.pop("v", None)
        data.pop("size", None)
        return cls(**data, size=len(text))

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at <= (time.time() if now is None else now)


class TokenStore(Protocol):
    """Where the single OB-1 login lives. ``lease`` serialises refreshes across processes."""

    def load(self) -> OB1Token | None: ...

    def save(self, token: OB1Token) -> None: ...

    def lease(self) -> AbstractContextManager[None]: ...


class KeyStore(Protocol):
    def put(self, record: KeyRecord) -> None: ...

    def get(self, key_id: str) -> KeyRecord | None: ...

    def list(self) -> list[KeyRecord]: ...

    def set_disabled(self, key_id: str, disabled: bool) -> bool: ...

    def set_budget(self, key_id: str, budget_usd: float | None) -> bool: ...

    def set_secret_and_policy(
        self, key_id: str, secret_sha256: str, policy: KeyPolicy, *, expected_sha256: str | None = None
    ) -> bool:
        """Replace the key's secret hash and policy (update, rotate); False when there is no such key, or
        (``expected_sha256``) when its secret is no longer the one read: a rotation came in between, and
        writing back what was read would undo it."""
        ...


class UsageStore(Protocol):
    def record(self, usage: UsageRecord) -> bool:
        """Store once; returns False when this request id was already recorded."""
        ...

    def record_many(self, batch: list[UsageRecord]) -> list[bool]:
        """``record`` for each, as cheaply as the store allows; raises if any could not be written."""
        ...

    def totals(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        key_id: str | None = None,
        group_by: tuple[str, ...] = ("key_id", "model"),
    ) -> list[UsageTotal]: ...

    def records(self) -> Iterator[UsageRecord]: ...


class ResponseStore(Protocol):
    """Stored Responses, always addressed by (key id, response id): another key's response is as absent
    as an unknown one."""

    def put(self, stored: StoredResponse) -> None: ...

    def get(self, key_id: str, response_id: str) -> StoredResponse | None:
        """The response, or None when it is unknown, another key's, or expired."""
        ...

    def delete(self, key_id: str, response_id: str) -> bool:
        """False when there was nothing of this key's to delete."""
        ...


class RateStore(Protocol):
    blocking: bool  # does I/O: called from a worker thread

    def take(self, key_id: str, window: int, rpm: int | None, tpm: int | None) -> tuple[str | None, int, int]:
        """Count one request in ``window`` unless a limit is reached: (refused kind or None, requests,
        tokens) as they stand after the call."""
        ...

    def add_tokens(self, key_id: str, window: int, tokens: int) -> None: ...

    def enter(self, key_id: str, max_parallel: int) -> bool:
        """Take a slot in flight; False when ``max_parallel`` are taken."""
        ...

    def leave(self, key_id: str) -> None: ...


@dataclass(frozen=True)
class Backends:
    """The stores one deployment uses (``backends.build_backends`` picks them)."""

    token_store: TokenStore
    key_store: KeyStore
    usage_store: UsageStore
    rate_store: RateStore
    response_store: ResponseStore | None  # None: nothing can be stored (an AWS setup without its bucket)
    # Reads a secret's string by id (AWS: Secrets Manager); None where secrets come from the settings (local).
    secrets: Callable[[str], str] | None = None


def utc_day(ts: float) -> str:
    """The UTC day (``YYYY-MM-DD``) a usage record at epoch ``ts`` counts toward."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")
