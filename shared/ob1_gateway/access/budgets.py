"""Per-key monthly budgets, checked before a request is forwarded.

A key's spend this UTC month is ``UsageStore.totals(since=<start of month>, key_id=...)``, cached per
key for a few seconds so a busy key costs one store query per TTL, not one per request. Between
queries the cache is kept current from the recorder: every finished request's cost is added as it is
submitted, and records submitted but not yet written are counted until the write settles, so a
refresh never forgets a request the store has not seen yet. Overspend is therefore bounded by the
requests in flight when the budget runs out (their cost is only known once they finish).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..metering.pricing import format_usd
from ..stores.base import KeyRecord, UsageRecord, UsageStore

DEFAULT_TTL_SECONDS = 5.0

log = logging.getLogger("ob1_gateway.budgets")


def month_of(ts: float) -> str:
    """``YYYY-MM`` of an epoch time, in UTC."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m")


def month_start(month: str) -> float:
    """Epoch seconds at 00:00 UTC on the first day of ``YYYY-MM``."""
    return datetime.strptime(month + "-01", "%Y-%m-%d").replace(tzinfo=UTC).timestamp()


def budget_share(spent_micros: int, budget_usd: float) -> float:
    """The share of a monthly budget spent (1.0 = all of it); a zero budget is used up by definition."""
    budget_micros = round(budget_usd * 1_000_000)
    return spent_micros / budget_micros if budget_micros > 0 else 1.0


class BudgetExceeded(Exception):
    def __init__(self, key: KeyRecord, spent_micros: int, month: str) -> None:
        self.key_id = key.key_id
        self.budget_usd = float(key.budget_usd or 0.0)
        self.spent_usd = spent_micros / 1_000_000
        self.month = month
        super().__init__(
            f"monthly budget of {format_usd(self.budget_usd)} for key {key.key_id} is used up: "
            f"${self.spent_usd:.6f} spent in {month} (UTC). Ask an admin to raise it "
            f"(`ob1gw keys update {key.key_id} --budget-usd <usd>`) or wait for next month."
        )


@dataclass
class _Spend:
    month: str
    fetched_at: float  # monotonic
    store_micros: int  # the store's total when fetched
    added_micros: int  # submitted since the fetch started (may overlap the store read: errs high)
    ready: bool = False  # the store read has finished


class BudgetGuard:
    """Knows each budgeted key's spend this month. Register it on the ``UsageRecorder`` (``listeners``)
    so it sees records as they are submitted and written."""

    def __init__(
        self,
        store: UsageStore,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._spend: dict[str, _Spend] = {}
        self._unwritten: dict[str, int] = defaultdict(int)  # submitted, write not settled yet
        self._locks: dict[str, asyncio.Lock] = {}

    # -- recorder listener ---------------------------------------------------------------------------

    def submitted(self, record: UsageRecord) -> None:
        if not record.cost_micros:
            return
        self._unwritten[record.key_id] += record.cost_micros
        spend = self._spend.get(record.key_id)
        if spend is not None and spend.month == month_of(record.ts):
            spend.added_micros += record.cost_micros

    def settled(self, records: Iterable[UsageRecord]) -> None:
        """The write of these records finished (or failed): the store now answers for them."""
        for record in records:
            if record.cost_micros:
                left = self._unwritten[record.key_id] - record.cost_micros
                if left > 0:
                    self._unwritten[record.key_id] = left
                else:
                    self._unwritten.pop(record.key_id, None)

    # -- queries -------------------------------------------------------------------------------------

    async def spent_micros(self, key_id: str) -> tuple[int, str]:
        """``(micro-USD spent this month, "YYYY-MM")`` for one key, from the cache when fresh."""
        month = month_of(self.clock())
        spend = self._spend.get(key_id)
        if not self._fresh(spend, month):
            lock = self._locks.setdefault(key_id, asyncio.Lock())
            async with lock:  # one store query per key at a time; waiters reuse its answer
                spend = self._spend.get(key_id)
                if not self._fresh(spend, month):
                    spend = await self._fetch(key_id, month)
        assert spend is not None
        return spend.store_micros + spend.added_micros, month

    def _fresh(self, spend: _Spend | None, month: str) -> bool:
        return (
            spend is not None
            and spend.ready
            and spend.month == month
            and time.monotonic() - spend.fetched_at < self.ttl_seconds
        )

    async def _fetch(self, key_id: str, month: str) -> _Spend:
        # Counted from here on: records submitted during the read, plus those submitted earlier whose
        # write has not settled (the read may miss them). Either may also be in the read: errs high.
        spend = _Spend(month, time.monotonic(), 0, self._unwritten.get(key_id, 0))
        self._spend[key_id] = spend
        try:
            totals = await asyncio.to_thread(
                self.store.totals, since=month_start(month), key_id=key_id, group_by=("key_id",)
            )
        except BaseException:
            self._spend.pop(key_id, None)
            raise
        spend.store_micros = sum(t.cost_micros for t in totals)
        spend.fetched_at, spend.ready = time.monotonic(), True
        return spend

    def share_after(self, key: KeyRecord, cost_micros: int) -> float | None:
        """The share of ``key``'s budget used this month once a request costing ``cost_micros`` counts,
        from the spend ``check`` read (no I/O); None without a budget or before that spend is known."""
        spend = self._spend.get(key.key_id)
        if key.budget_usd is None or spend is None or not spend.ready or spend.month != month_of(self.clock()):
            return None
        return budget_share(spend.store_micros + spend.added_micros + cost_micros, key.budget_usd)

    async def check(self, key: KeyRecord) -> None:
        """Raise ``BudgetExceeded`` when the key has a budget and this month's spend has reached it."""
        if key.budget_usd is None:
            return
        try:
            spent, month = await self.spent_micros(key.key_id)
        except Exception as exc:  # fail open: a store hiccup must not take every budgeted key down
            log.warning("budget check for key %s skipped: %s", key.key_id, type(exc).__name__)
            return
        if spent >= round(key.budget_usd * 1_000_000):
            raise BudgetExceeded(key, spent, month)
