"""Turn a finished request into one ``UsageRecord`` and write it.

Writes run in a worker thread from one tracked writer task, so a client that disconnects mid-stream
still gets its record written, and shutdown drains what is in flight. ``submit`` returns a future
settled once the record's batch is written: the routes hold a response's last bytes on it, so a
client never holds an answer whose record a crash could still lose.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from ..stores.base import UsageRecord, UsageStore
from ..translate.token_count import estimate_output_tokens
from ..translate.token_usage import Usage
from .pricing import cost_usd, to_micros

log = logging.getLogger("ob1_gateway.usage")


@dataclass
class RequestMeter:
    """What is known about one request while it runs."""

    request_id: str
    key_id: str
    route: str
    stream: bool
    key_name: str = ""
    model: str = ""
    pricing: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    first_byte_at: float | None = None  # perf_counter when the first upstream stream chunk arrived
    # The prompt's local token estimate, computed only for a stream left before its usage came.
    estimate_input: Callable[[], int] | None = None
    # The share of the key's monthly budget used once a cost (micro-USD) counts (BudgetGuard.share_after).
    budget_share: Callable[[int], float | None] | None = None
    recorded: bool = False  # its one record is made: nothing else may record it (api/settlement.py)

    def mark_first_byte(self) -> None:
        """Note the first upstream chunk (later calls keep the first time)."""
        if self.first_byte_at is None:
            self.first_byte_at = time.perf_counter()

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_byte_at is None else round((self.first_byte_at - self.started) * 1000, 3)

    def record(
        self,
        usage: Usage,
        status: int,
        table: dict[str, dict[str, float]] | None = None,
        *,
        estimated: bool = False,
    ) -> UsageRecord:
        """The request's record; called once, when the request ends. ``estimated``: ``usage`` is the
        gateway's estimate (``left_stream_usage``), priced as usual."""
        self.recorded = True
        cost_micros = to_micros(cost_usd(usage, self.pricing, (table or {}).get(self.model)))
        share = self.budget_share(cost_micros) if self.budget_share is not None else None
        record = UsageRecord(
            request_id=self.request_id,
            key_id=self.key_id,
            model=self.model,
            route=self.route,
            stream=self.stream,
            status=status,
            input_tokens=usage.input_tokens,
            output_tokens=usage.completion_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cost_micros=cost_micros,
            latency_ms=round((time.perf_counter() - self.started) * 1000, 3),
            key_name=self.key_name,
            ttft_ms=self.ttft_ms,
            estimated=estimated,
            budget_used_pct=None if share is None else round(share * 100, 3),
        )
        return record

    def left_stream_usage(self, reported: Usage, relayed_chars: int) -> tuple[Usage, bool]:
        """The usage of a stream the client left: the upstream's figure if it arrived, else (estimated)
        the prompt's local estimate and the text relayed so far. The upstream received the whole prompt
        and generated until the gateway closed the stream, so a 0-token record would under-bill it."""
        if reported != Usage():
            return reported, False
        prompt = self.estimate_input() if self.estimate_input is not None else 0
        return Usage(prompt_tokens=prompt, completion_tokens=estimate_output_tokens(relayed_chars)), True


def _fields(record: UsageRecord) -> dict[str, object]:
    """The record as log fields: key id (never a secret), model, tokens, cost, status, latency."""
    fields = {name: getattr(record, name) for name in record.__dataclass_fields__ if name != "cost_micros"}
    return fields | {"cost_usd": record.cost_usd}


class UsageListener(Protocol):
    """Told about records as they are submitted and when their write has settled (budgets.py)."""

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
