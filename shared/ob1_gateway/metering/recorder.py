"""``UsageRecorder``: writes each finished request's one ``UsageRecord`` (made by ``meter.py``).

Writes run in a worker thread from one tracked writer task, so a client that disconnects mid-stream
still gets its record written, and shutdown drains what is in flight. ``submit`` returns a future
settled once the record's batch is written: the routes hold a response's last bytes on it, so a
client never holds an answer whose record a crash could still lose.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol

from ..stores.base import UsageRecord, UsageStore

log = logging.getLogger("ob1_gateway.usage")


def _fields(record: UsageRecord) -> dict[str, object]:
    """The record as log fields: key id (never a secret), model, tokens, cost, status, latency."""
    fields = {name: getattr(record, name) for name in record.__dataclass_fields__ if name != "cost_micros"}
    return fields | {"cost_usd": record.cost_usd}


class UsageListener(Protocol):
    """Told about records as they are submitted and when their write has settled (access/budgets.py)."""

    def submitted(self, record: UsageRecord) -> None: ...

    def settled(self, records: Iterable[UsageRecord]) -> None: ...


class UsageRecorder:
    """One writer task per process: records submitted while a write is in flight are written together in
    the next worker-thread call. On a busy server that is one thread hop per batch instead of one per
    request, and one writer never contends with itself for the store's write lock (SQLite)."""

    def __init__(self, store: UsageStore) -> None:
        self.store = store
        self._queue: list[tuple[UsageRecord, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.listeners: list[UsageListener] = []

    def submit(self, record: UsageRecord) -> asyncio.Future[None]:
        """Schedule the write; safe to call from a ``finally`` while the request is being cancelled.
        The future is done once the record is written (or, failing that, logged whole)."""
        loop = asyncio.get_running_loop()
        settled = loop.create_future()
        self._queue.append((record, settled))
        for listener in self.listeners:
            listener.submitted(record)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_all())
        return settled

    async def write(self, record: UsageRecord) -> None:
        """Submit and wait until the record is durable. If the caller is cancelled meanwhile, the write
        still completes (it was submitted first)."""
        await asyncio.shield(self.submit(record))

    async def _write_all(self) -> None:
        while self._queue:
            entries, self._queue = self._queue, []
            batch = [record for record, _ in entries]
            try:
                for record in await asyncio.to_thread(self._write_batch, batch):
                    self._log(record)
            finally:
                for _, settled in entries:
                    if not settled.done():
                        settled.set_result(None)
                for listener in self.listeners:
                    listener.settled(batch)

    def _write_batch(self, batch: list[UsageRecord]) -> list[UsageRecord]:
        try:
            self.store.record_many(batch)
            return batch
        except Exception:
            pass  # one record at a time, so only the one that cannot be written is left out
        written = []
        for record in batch:
            try:
                self.store.record(record)
            except Exception:
                # Never silently lost: the whole record goes to the log, from which it can be replayed.
                log.exception(
                    "usage record %s could not be written", record.request_id, extra={"usage": _fields(record)}
                )
                continue
            written.append(record)
        return written

    @staticmethod
    def _log(record: UsageRecord) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        # The message stays exactly "usage": the dashboard's Logs Insights queries select on it.
        log.info("usage", extra={"usage": _fields(record)})

    async def drain(self) -> None:
        # asyncio.wait neither raises the writer's exception nor cancels it if this caller is cancelled.
        while self._writer is not None and not self._writer.done():
            await asyncio.wait({self._writer})
