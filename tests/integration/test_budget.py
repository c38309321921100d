"""Per-key monthly budgets: enforced before forwarding, in each API's error shape, with overspend bounded
by the requests in flight when the budget runs out; spend read from the store on both backends."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from ob1_gateway.access.budgets import BudgetExceeded, BudgetGuard, month_of, month_start
from ob1_gateway.access.keys import issue_key
from ob1_gateway.app import create_app
from ob1_gateway.stores.backends import build_backends
from ob1_gateway.stores.base import KeyRecord, OB1Token, UsageRecord

from tests.fixtures.gateway import GatewayHandle, UvicornThread, gateway_settings

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "budget probe"}]}
MESSAGES = {"model": "claude-haiku-4-5", "max_tokens": 20, "messages": [{"role": "user", "content": "probe"}]}


def _chat(base: str, key: str, body: dict[str, Any] = CHAT) -> httpx.Response:
    return httpx.post(f"{base}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30)


def _cost_of_one(gw: GatewayHandle, body: dict[str, Any] = CHAT) -> int:
    """The fake's cost is deterministic per body: measure it with the unbudgeted key."""
    assert _chat(gw.base_url, gw.key, body).status_code == 200
    (record,) = gw.usage_records(1)
    assert record.cost_micros > 0
    return record.cost_micros


def _budgeted_key(gw: GatewayHandle, budget_usd: float) -> tuple[str, str]:
    record, key = issue_key("budgeted", budget_usd)
    gw.backends.key_store.put(record)
    return record.key_id, key


def _spent(gw: GatewayHandle, key_id: str) -> int:
    time.sleep(0.2)  # writes land after responses
    return sum(t.cost_micros for t in gw.backends.usage_store.totals(key_id=key_id, group_by=("key_id",)))


def test_concurrent_requests_near_the_limit_overspend_is_bounded(gateway: GatewayHandle) -> None:
    cost = _cost_of_one(gateway)
    n, concurrency = 4, 4
    budget_usd = (n * cost + cost // 2) / 1_000_000  # room for n requests and half of one more
    key_id, key = _budgeted_key(gateway, budget_usd)

    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(lambda _: _chat(gateway.base_url, key).status_code, range(3 * n)))

    ok, refused = statuses.count(200), statuses.count(429)
    assert ok + refused == 3 * n, statuses
    # Every completion is counted at once (the spend cache is 5 s, far longer than this test), so at
    # most the requests already in flight when the (n+1)-th completed get past the check.
    assert n + 1 <= ok <= n + concurrency, statuses
    spent = _spent(gateway, key_id)
    assert spent == ok * cost
    assert spent - budget_usd * 1_000_000 <= concurrency * cost  # overspend bounded by the concurrency

    later = _chat(gateway.base_url, key)
    assert later.status_code == 429
    assert later.headers["x-should-retry"] == "false"
    error = later.json()["error"]
    assert error["code"] == "budget_exceeded" and error["type"] == "rate_limit_error"
    month = month_of(time.time())
    assert f"${budget_usd:.2f}" in error["message"] and month in error["message"]
    assert f"${spent / 1_000_000:.6f}" in error["message"]


def test_anthropic_route_refuses_in_anthropic_shape(gateway: GatewayHandle) -> None:
    key_id, key = _budgeted_key(gateway, 0.0)  # a zero budget refuses everything
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    resp = httpx.post(f"{gateway.base_url}/v1/messages", json=MESSAGES, headers=headers, timeout=30)
    assert resp.status_code == 429
    body = resp.json()
    assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    assert "$0.00" in body["error"]["message"] and key_id in body["error"]["message"]
    stream = httpx.post(
        f"{gateway.base_url}/v1/messages", json={**MESSAGES, "stream": True}, headers=headers, timeout=30
    )
    assert stream.status_code == 429 and stream.json()["type"] == "error"
    # Refused before forwarding: nothing reached the upstream, nothing was metered.
    assert gateway.usage_records(0, timeout=0.2) == []


def test_responses_route_is_budgeted(gateway: GatewayHandle) -> None:
    _, key = _budgeted_key(gateway, 0.0)
    resp = httpx.post(
        f"{gateway.base_url}/v1/responses",
        json={"model": "gpt-4o-mini", "input": "hi"},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert resp.status_code == 429 and resp.json()["error"]["code"] == "budget_exceeded"


def test_streamed_spend_counts_and_free_routes_stay_open(gateway: GatewayHandle) -> None:
    stream_body = {**CHAT, "stream": True}
    cost = _cost_of_one(gateway, stream_body)
    _, key = _budgeted_key(gateway, cost / 1_000_000)  # exactly one streamed request
    first = _chat(gateway.base_url, key, stream_body)
    assert first.status_code == 200 and "[DONE]" in first.text
    deadline = time.monotonic() + 5
    while (second := _chat(gateway.base_url, key, stream_body)).status_code == 200:  # finally may lag the body
        assert time.monotonic() < deadline
    assert second.status_code == 429
    headers = {"authorization": f"Bearer {key}"}
    # Reading is never refused: models, count_tokens and the key's own usage stay available.
    assert httpx.get(f"{gateway.base_url}/v1/models", headers=headers).status_code == 200
    usage = httpx.get(f"{gateway.base_url}/v1/usage", headers=headers).json()
    assert usage["budget_usd"] == pytest.approx(cost / 1_000_000) and usage["spent_usd"] >= usage["budget_usd"]


def test_unbudgeted_keys_never_query_the_store(gateway: GatewayHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = gateway.backends.usage_store.totals
    monkeypatch.setattr(gateway.backends.usage_store, "totals", lambda **kw: calls.append(kw) or real(**kw))
    for _ in range(3):
        assert _chat(gateway.base_url, gateway.key).status_code == 200
    assert calls == []


def test_a_new_process_sees_the_stored_spend(tmp_path: Path, fake_ob1: Any) -> None:
    """The cache starts empty: a fresh gateway (another Lambda environment) reads this month's spend."""
    settings = gateway_settings(tmp_path / "home", fake_ob1)
    backends = build_backends(settings)
    backends.token_store.save(OB1Token.from_dict(fake_ob1.issue_login()))
    record, key = issue_key("spent", 1.0)
    backends.key_store.put(record)
    now = time.time()
    last_month = month_start(month_of(now)) - 3600
    backends.usage_store.record(_usage(record.key_id, "r-old", 5_000_000, last_month))  # not this month
    backends.usage_store.record(_usage(record.key_id, "r-now", 999_999, now))
    with UvicornThread(create_app(settings, backends)) as server:
        base = f"http://127.0.0.1:{server.port}"
        assert _chat(base, key).status_code == 200  # 0.999999 < 1.00
        deadline = time.monotonic() + 5
        while (resp := _chat(base, key)).status_code == 200:
            assert time.monotonic() < deadline
        assert resp.status_code == 429 and "$1.00" in resp.json()["error"]["message"]


def _usage(key_id: str, request_id: str, cost_micros: int, ts: float) -> UsageRecord:
    return UsageRecord(
        request_id=request_id, key_id=key_id, model="openai/gpt-4o-mini", route="/v1/chat/completions",
        stream=False, status=200, input_tokens=10, output_tokens=5, cost_micros=cost_micros, ts=ts,
    )  # fmt: skip


# ---- BudgetGuard on its own -------------------------------------------------------------------------


class _CountingStore:
    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def totals(self, **kwargs: Any) -> Any:
        self.calls += 1
        return self.inner.totals(**kwargs)


def _key(key_id: str, budget: float | None) -> KeyRecord:
    return KeyRecord(key_id=key_id, name=key_id, secret_sha256="x", created_at=0.0, budget_usd=budget)


def _exercise_guard(store: Any) -> None:
    key_id = "k" + str(time.time_ns())[-10:]
    now = time.time()
    store.record(_usage(key_id, f"{key_id}-1", 400_000, now))
    store.record(_usage(key_id, f"{key_id}-2", 7_000_000, month_start(month_of(now)) - 10))  # last month
    store.record(_usage("other-key", f"{key_id}-3", 9_000_000, now))
    counting = _CountingStore(store)
    guard = BudgetGuard(counting, ttl_seconds=60)  # type: ignore[arg-type]

    async def scenario() -> None:
        assert await guard.spent_micros(key_id) == (400_000, month_of(now))
        await guard.check(_key(key_id, 0.5))  # 0.40 < 0.50
        await asyncio.gather(*(guard.check(_key(key_id, 0.5)) for _ in range(20)))
        assert counting.calls == 1  # cached
        # A completed request counts at once, before its write settles and before the cache expires.
        done = _usage(key_id, f"{key_id}-4", 100_000, time.time())
        guard.submitted(done)
        with pytest.raises(BudgetExceeded) as exc:
            await guard.check(_key(key_id, 0.5))
        assert exc.value.spent_usd == pytest.approx(0.5) and exc.value.budget_usd == 0.5
        # Refreshing while the write is still unsettled must not forget it.
        guard.ttl_seconds = 0
        assert (await guard.spent_micros(key_id))[0] == 500_000
        store.record(done)
        guard.settled([done])
        assert (await guard.spent_micros(key_id))[0] == 500_000
        await guard.check(_key(key_id, None))  # no budget, no limit

    asyncio.run(scenario())


def test_guard_on_sqlite(tmp_path: Path) -> None:
    from ob1_gateway.stores.local.local_stores import SqliteDatabase, SqliteUsageStore

    _exercise_guard(SqliteUsageStore(SqliteDatabase(tmp_path / "db.sqlite3")))


def test_guard_on_dynamodb(aws_settings: Any) -> None:
    """The spend query against the AWS backend (moto): this month's DAY counters for one key."""
    _exercise_guard(build_backends(aws_settings).usage_store)


def test_guard_month_rollover() -> None:
    class Store:
        def totals(self, **kwargs: Any) -> list[Any]:
            self.since = kwargs["since"]
            return []

    store = Store()
    clock = [datetime(2025, 1, 31, 23, 59, tzinfo=UTC).timestamp()]
    guard = BudgetGuard(store, ttl_seconds=3600, clock=lambda: clock[0])  # type: ignore[arg-type]
    assert asyncio.run(guard.spent_micros("k")) == (0, "2025-01")
    assert store.since == datetime(2025, 1, 1, tzinfo=UTC).timestamp()
    clock[0] += timedelta(minutes=2).total_seconds()
    assert asyncio.run(guard.spent_micros("k")) == (0, "2025-02")
    assert store.since == datetime(2025, 2, 1, tzinfo=UTC).timestamp()


def test_each_budgeted_record_carries_its_key_s_share(gateway: GatewayHandle, caplog: pytest.LogCaptureFixture) -> None:
    """The usage log line (and the BudgetUsedPercent metric on AWS, from the same record) says how much of
    the key's budget is used once the request counts; an unbudgeted key's says nothing."""
    caplog.set_level("INFO", logger="ob1_gateway.usage")
    cost = _cost_of_one(gateway)
    key_id, key = _budgeted_key(gateway, 0.01)
    for _ in range(2):
        assert _chat(gateway.base_url, key).status_code == 200
    gateway.usage_records(3)
    time.sleep(0.2)  # the line is logged once the write settles
    lines = [r.usage for r in caplog.records if r.getMessage() == "usage"]  # type: ignore[attr-defined]
    shares = [line["budget_used_pct"] for line in lines if line["key_id"] == key_id]
    assert shares == [round(cost * n / 10_000 * 100, 3) for n in (1, 2)]
    assert [line["budget_used_pct"] for line in lines if line["key_id"] != key_id] == [None]
