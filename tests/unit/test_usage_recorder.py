"""The usage writer: batches records, drains on shutdown, and never drops one silently."""

from __future__ import annotations

import asyncio
import logging

import pytest
from ob1_gateway.metering.recorder import UsageRecorder
from ob1_gateway.stores.base import UsageRecord


def _record(i: int) -> UsageRecord:
    return UsageRecord(
        request_id=f"r{i}",
        key_id="k",
        model="m",
        route="/v1/messages",
        stream=False,
        status=200,
        input_tokens=i,
        output_tokens=1,
        cost_micros=7,
    )


class ListStore:
    def __init__(self, fail_on: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.rows: list[UsageRecord] = []
        self.fail_on = fail_on

    def record(self, usage: UsageRecord) -> bool:
        if usage.request_id in self.fail_on:
            raise RuntimeError("store unavailable")
        self.rows.append(usage)
        return True

    def record_many(self, batch: list[UsageRecord]) -> list[bool]:
        """All or nothing, like SQLite's one transaction per batch."""
        if any(u.request_id in self.fail_on for u in batch):
            raise RuntimeError("store unavailable")
        return [self.record(u) for u in batch]


def test_every_submitted_record_is_written_by_drain() -> None:
    store = ListStore()

    async def run() -> None:
        recorder = UsageRecorder(store)  # type: ignore[arg-type]
        for i in range(200):
            recorder.submit(_record(i))
        await recorder.drain()

    asyncio.run(run())
    assert [r.request_id for r in store.rows] == [f"r{i}" for i in range(200)]


def test_a_failed_write_is_logged_with_the_whole_record(caplog: pytest.LogCaptureFixture) -> None:
    store = ListStore(fail_on={"r1"})

    async def run() -> None:
        recorder = UsageRecorder(store)  # type: ignore[arg-type]
        for i in range(3):
            recorder.submit(_record(i))
        await recorder.drain()

    with caplog.at_level(logging.INFO, logger="ob1_gateway.usage"):
        asyncio.run(run())
    assert [r.request_id for r in store.rows] == ["r0", "r2"]
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.usage["request_id"] == "r1" and failure.usage["input_tokens"] == 1  # type: ignore[attr-defined]
    assert failure.usage["cost_usd"] == 7e-6  # type: ignore[attr-defined]
    assert sum(1 for r in caplog.records if r.getMessage() == "usage") == 2
