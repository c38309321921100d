"""Per-key rate limits: requests and tokens per minute, and requests in flight.

Minutes are fixed UTC windows (``epoch // 60``). A request is admitted when its key's window has
fewer than ``rpm`` requests and fewer than ``tpm`` tokens so far, and fewer than ``max_parallel``
requests of the key are in flight; admission counts it. Tokens are only known once a request ends, so
they are added when its usage record is submitted (the recorder calls ``submitted``): a burst that
starts before any token is counted can exceed ``tpm`` by what that burst uses, as on every gateway that
meters tokens after the fact. The slot in flight is freed at the same moment, and every admitted request
ends in exactly one usage record.

Where the counting lives is a ``RateStore``: process memory for ``ob1gw serve`` (one process,
``stores/memory_rates.py``), DynamoDB
for Lambda (``stores/aws_rates.py``), where atomic conditional counters hold one limit across every
instance at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from ..stores.base import KeyRecord, RateStore, UsageRecord

__all__ = ["RateLimited", "RateLimiter"]

WINDOW_SECONDS = 60

_T = TypeVar("_T")


@dataclass(frozen=True)
class RateLimited(Exception):
    """Refused: ``kind`` is "requests", "tokens" or "parallel"; ``reset_at`` is when it may pass again."""

    key_id: str
    kind: str
    limit: int
    remaining: int
    reset_at: float

    def __str__(self) -> str:
        what = {"requests": "requests per minute", "tokens": "tokens per minute", "parallel": "requests at once"}
        return f"rate limit of key {self.key_id} reached: {self.limit} {what[self.kind]}"

    def retry_after(self, now: float | None = None) -> int:
        return max(1, int(self.reset_at - (time.time() if now is None else now) + 0.999))


@dataclass
class _Admission:
    window: int
    parallel: bool
    tokens: bool


class RateLimiter:
    """Admission by a key's policy, and the release of what a finished request held (a UsageListener)."""

    def __init__(self, store: RateStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._blocking = store.blocking
        self._clock = clock
        self._admitted: dict[str, _Admission] = {}

    async def _call(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.to_thread(fn, *args) if self._blocking else fn(*args)

    async def admit(self, key: KeyRecord, request_id: str) -> None:
        policy = key.policy
        if policy.rpm is None and policy.tpm is None and policy.max_parallel is None:
            return
        now = self._clock()
        window = int(now // WINDOW_SECONDS)
        window_end = (window + 1) * WINDOW_SECONDS
        parallel = policy.max_parallel is not None
        if parallel and not await self._call(self.store.enter, key.key_id, policy.max_parallel):
            raise RateLimited(key.key_id, "parallel", int(policy.max_parallel or 0), 0, now + 1)
        if policy.rpm is not None or policy.tpm is not None:
            try:
                refused, requests, tokens = await self._call(
                    self.store.take, key.key_id, window, policy.rpm, policy.tpm
                )
            except BaseException:
                if parallel:
                    await self._call(self.store.leave, key.key_id)
                raise
            if refused is not None:
                if parallel:
                    await self._call(self.store.leave, key.key_id)
                limit = int((policy.rpm if refused == "requests" else policy.tpm) or 0)
                used = requests if refused == "requests" else tokens
                raise RateLimited(key.key_id, refused, limit, max(0, limit - used), window_end)
        self._admitted[request_id] = _Admission(window, parallel, policy.tpm is not None)

    async def release(self, request_id: str, key_id: str) -> None:
        """Free the slot of a request that ends without a usage record (it never went upstream)."""
        admission = self._admitted.pop(request_id, None)
        if admission is not None and admission.parallel:
            await self._call(self.store.leave, key_id)

    # -- UsageListener --------------------------------------------------------------------------------
    def submitted(self, record: UsageRecord) -> None:
        if record.request_id not in self._admitted:
            return
        if not self._blocking:
            self.store_release(record)
            return
        asyncio.get_running_loop().run_in_executor(None, self.store_release, record)

    def settled(self, records: Iterable[UsageRecord]) -> None:
        return None

    def store_release(self, record: UsageRecord) -> None:
        """Free what the record's request took and count its tokens (blocking for an I/O store)."""
        admission = self._admitted.pop(record.request_id, None)
        if admission is None:
            return
        if admission.parallel:
            self.store.leave(record.key_id)
        tokens = record.input_tokens + record.output_tokens + record.cache_read_tokens + record.cache_write_tokens
        if admission.tokens and tokens:
            self.store.add_tokens(record.key_id, admission.window, tokens)
