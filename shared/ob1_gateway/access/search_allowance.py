"""A key's daily web search allowance (``keys create/update --searches-per-day``): the searches its usage records
count today (UTC), plus those this process has run whose records are not written yet, against the limit. Asked before
each search; a search over the limit is the tool's own ``too_many_requests``, not a failed request."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable

from ..stores.base import KeyRecord, UsageRecord, UsageStore

__all__ = ["SearchAllowance"]

log = logging.getLogger("ob1_gateway.access")
_DAY = 86_400


class SearchAllowance:
    """Register it on the ``UsageRecorder`` (``listeners``): a search counts from when it runs (``ran``) until its
    record is written, and from then on in the store."""

    def __init__(self, store: UsageStore) -> None:
        self.store = store
        self._unwritten: dict[str, int] = defaultdict(int)

    def ran(self, key_id: str) -> None:
        self._unwritten[key_id] += 1

    async def allows(self, key: KeyRecord) -> bool:
        """Whether one more search is within the key's daily limit (always, without one; also when the store
        cannot be read: a store hiccup must not turn every search off)."""
        limit = key.policy.searches_per_day
        if limit is None:
            return True
        day_start = time.time() // _DAY * _DAY
        try:
            totals = await asyncio.to_thread(self.store.totals, since=day_start, key_id=key.key_id, group_by=())
        except Exception as exc:
            log.warning("search allowance of key %s not checked: %s", key.key_id, type(exc).__name__)
            return True
        used = sum(t.web_searches for t in totals) + self._unwritten.get(key.key_id, 0)
        return used < limit

    # -- recorder listener ---------------------------------------------------------------------------

    def submitted(self, record: UsageRecord) -> None:
        """Counted already (``ran``)."""

    def settled(self, records: Iterable[UsageRecord]) -> None:
        for record in records:
            if record.web_searches:
                left = self._unwritten[record.key_id] - record.web_searches
                if left > 0:
                    self._unwritten[record.key_id] = left
                else:
                    self._unwritten.pop(record.key_id, None)
