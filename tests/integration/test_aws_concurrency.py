"""Concurrency against moto's real server: exact usage counters, and one refresh for 50 refreshers.

The lease tests run refreshers in several processes (spawned, each with its own store and boto3
clients), because in-process locks would hide a broken cross-process lease.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

import pytest
from ob1_gateway.settings import Settings, load_settings
from ob1_gateway.stores.backends import build_backends
from ob1_gateway.stores.base import OB1Token, UsageRecord

from tests.fakes.ob1_fake import FakeOB1Server

PROCESSES = 5
THREADS_PER_PROCESS = 10  # 50 refreshers in all


RECORDS = 400  # moto answers one TransactWriteItems at a time: 1,000 took 70-180 s of CI for no more proof


@pytest.mark.timeout(400)
def test_concurrent_usage_records_sum_exactly(aws_settings: Settings) -> None:
    store = build_backends(aws_settings).usage_store
    rng = random.Random(7)
    day0 = datetime(2026, 5, 1, 23, 59, tzinfo=UTC).timestamp()  # straddles midnight: two DAY items
    records = [
        UsageRecord(
            request_id=f"req-{i}",
            key_id=f"k{i % 3}",
            model=f"m{i % 2}",
            route="/v1/messages",
            stream=True,
            status=200,
            input_tokens=rng.randrange(10_000),
            output_tokens=rng.randrange(5_000),
            cache_read_tokens=rng.randrange(1_000),
            cache_write_tokens=rng.randrange(500),
            cost_micros=rng.randrange(2_000_000),
            ts=day0 + rng.uniform(0, 120),
        )
        for i in range(RECORDS)
    ]
    replays = rng.sample(records, RECORDS // 6)  # the same request ids again, racing the originals
    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(store.record, records + replays))
    assert sum(results) == RECORDS  # every request counted once, every replay refused

    fields = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_micros")
    want: dict[tuple[str, str, str], Counter[str]] = {}
    for rec in records:
        day = datetime.fromtimestamp(rec.ts, UTC).strftime("%Y-%m-%d")
        acc = want.setdefault((rec.key_id, rec.model, day), Counter())
        acc["requests"] += 1
        for name in fields:
            acc[name] += getattr(rec, name)
    got = {
        (t.key_id, t.model, t.day): Counter({"requests": t.requests, **{n: getattr(t, n) for n in fields}})
        for t in store.totals(group_by=("key_id", "model", "day"))  # read from the DAY counters
    }
    assert got == want
    assert len({r.request_id for r in store.records()}) == RECORDS


# ---- the refresh lease across processes ---------------------------------------------------------


def _simulated_refresher(settings_kwargs: dict[str, Any], start_at: float) -> list[tuple[str, int]]:
    """10 threads that each "refresh" the token if it is expiring; the counter lives in the secret."""
    store = build_backends(Settings(**settings_kwargs)).token_store

    def one() -> tuple[str, int]:
        time.sleep(max(0.0, start_at - time.time()))
        refreshed = 0
        with store.lease():
            token = store.load()
            assert token is not None
            if token.expires_within(300):
                n = int(token.access_token.split("-")[1])
                time.sleep(0.05)  # the WorkOS round trip
                store.save(OB1Token(f"acc-{n + 1}", f"ref-{n + 1}", time.time() + 3600))
                refreshed = 1
            token = store.load()
            assert token is not None
        return token.access_token, refreshed

    with ThreadPoolExecutor(THREADS_PER_PROCESS) as pool:
        return list(pool.map(lambda _: one(), range(THREADS_PER_PROCESS)))


def _real_refresher(settings_kwargs: dict[str, Any], start_at: float) -> list[str]:
    """10 threads, each its own OB1TokenManager (like 10 Lambdas), asking for a header at once."""
    from ob1_gateway.upstream.token import OB1TokenManager
    from ob1_gateway.upstream.workos import WorkOSClient

    settings = Settings(**settings_kwargs)
    store = build_backends(settings).token_store

    def one() -> str:
        async def go() -> str:
            manager = OB1TokenManager(store, WorkOSClient(settings), settings.refresh_margin_seconds)
            return await manager.authorization()

        time.sleep(max(0.0, start_at - time.time()))
        return asyncio.run(go())

    with ThreadPoolExecutor(THREADS_PER_PROCESS) as pool:
        return list(pool.map(lambda _: one(), range(THREADS_PER_PROCESS)))


def _run_processes(fn: Any, settings: Settings) -> list[Any]:
    kwargs = settings.model_dump(mode="json", exclude={"upstream_api_key", "home"})
    start_at = time.time() + 3.0  # after every child has imported boto3 and built its clients
    with ProcessPoolExecutor(PROCESSES, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(fn, kwargs, start_at) for _ in range(PROCESSES)]
        return [item for f in futures for item in f.result(timeout=120)]


def test_lease_serialises_simulated_refreshers_across_processes(aws_settings: Settings) -> None:
    store = build_backends(aws_settings).token_store
    store.save(OB1Token("acc-0", "ref-0", time.time() - 1))  # expired: everyone wants to refresh
    results = _run_processes(_simulated_refresher, aws_settings)
    assert len(results) == PROCESSES * THREADS_PER_PROCESS
    assert sum(refreshed for _, refreshed in results) == 1
    assert {token for token, _ in results} == {"acc-1"}
    assert store.load(fresh=True) == OB1Token("acc-1", "ref-1", store.load(fresh=True).expires_at)  # type: ignore[union-attr]


def test_lease_serialises_real_token_managers_across_processes(
    aws_env: dict[str, str], fake_ob1: FakeOB1Server, monkeypatch: Any
) -> None:
    for name, value in fake_ob1.env().items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    store = build_backends(settings).token_store
    store.save(OB1Token.from_dict(fake_ob1.issue_login(expires_in=5)))  # inside the 300 s margin
    headers = _run_processes(_real_refresher, settings)
    assert len(headers) == PROCESSES * THREADS_PER_PROCESS
    snap = fake_ob1.state.snapshot()
    # Single-use refresh tokens: a second refresh with the same token would be invalid_grant.
    assert (snap["refresh_calls"], snap["refresh_successes"]) == (1, 1)
    assert len(set(headers)) == 1
    stored = store.load(fresh=True)
    assert stored is not None and set(headers) == {stored.authorization()}
    assert not stored.expires_within(300)


def test_lease_under_thread_contention_in_one_process(aws_settings: Settings) -> None:
    """Many threads sharing one store instance: the held-lease count must not leak."""
    store = build_backends(aws_settings).token_store
    inside = 0
    peak = 0
    guard = threading.Lock()

    def hold() -> None:
        nonlocal inside, peak
        with store.lease():
            with guard:
                inside += 1
                peak = max(peak, inside)
            time.sleep(0.01)
            with guard:
                inside -= 1

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda _: hold(), range(40)))
    assert peak == 1
    assert store._held == 0  # type: ignore[attr-defined]
