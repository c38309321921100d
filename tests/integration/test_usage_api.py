"""``GET /v1/usage``: the calling key's own usage this month by day and model, never another key's."""

from __future__ import annotations

import time
from typing import Any

import httpx
from ob1_gateway.access.budgets import month_of, month_start
from ob1_gateway.access.keys import issue_key
from ob1_gateway.stores.base import UsageRecord, utc_day

from tests.fixtures.gateway import GatewayHandle

ROW_FIELDS = {
    "day", "model", "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd",
    "estimated_requests", "web_searches", "web_fetches",
}  # fmt: skip


def _get(gw: GatewayHandle, secret: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{gw.base_url}/v1/usage", params=params, headers={"authorization": f"Bearer {secret}"}, timeout=30
    )


def _record(key_id: str, rid: str, model: str, cost: int, ts: float, tokens: int = 10) -> UsageRecord:
    return UsageRecord(
        request_id=rid, key_id=key_id, model=model, route="/v1/messages", stream=False, status=200,
        input_tokens=tokens, output_tokens=tokens // 2, cache_read_tokens=1, cache_write_tokens=2,
        cost_micros=cost, ts=ts,
    )  # fmt: skip


def test_usage_shows_only_the_callers_key(gateway: GatewayHandle) -> None:
    other_id, other_key = gateway.new_key("other")
    headers = {"authorization": f"Bearer {gateway.key}"}
    for content in ("one", "two"):
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]}
        assert httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, headers=headers).status_code == 200
    body = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "x"}]}
    other_headers = {"authorization": f"Bearer {other_key}"}
    assert httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, headers=other_headers).status_code == 200
    records = gateway.usage_records(3)
    store = gateway.backends.usage_store
    now = time.time()
    store.record(
        _record(gateway.key_id, "last-month", "openai/gpt-4o-mini", 9_000_000, month_start(month_of(now)) - 60)
    )

    mine = _get(gateway, gateway.key)
    assert mine.status_code == 200
    data = mine.json()
    assert data["key_id"] == gateway.key_id and data["month"] == month_of(now)
    assert data["budget_usd"] is None
    assert [set(r) for r in data["rows"]] == [ROW_FIELDS]
    (row,) = data["rows"]
    own = [r for r in records if r.key_id == gateway.key_id]
    assert row["model"] == "openai/gpt-4o-mini" and row["day"] == utc_day(now) and row["requests"] == 2
    assert row["input_tokens"] == sum(r.input_tokens for r in own)
    assert row["output_tokens"] == sum(r.output_tokens for r in own)
    assert data["spent_usd"] == sum(r.cost_micros for r in own) / 1_000_000 == row["cost_usd"]

    theirs = _get(gateway, other_key).json()
    assert theirs["key_id"] == other_id
    assert [(r["model"], r["requests"]) for r in theirs["rows"]] == [("anthropic/claude-haiku-4.5", 1)]
    # No parameter selects another key: unknown query parameters are ignored, the caller decides.
    sneaky = _get(gateway, other_key, key_id=gateway.key_id, key=gateway.key_id).json()
    assert sneaky["key_id"] == other_id and sneaky["rows"] == theirs["rows"]


def test_usage_by_day_and_model_and_month_parameter(gateway: GatewayHandle) -> None:
    store = gateway.backends.usage_store
    month = "2025-03"
    start = month_start(month)
    day = 86_400
    for i, (offset, model, cost) in enumerate([
        (0, "m/a", 100), (0, "m/b", 200), (day + 5, "m/a", 300), (day + 9, "m/a", 400), (31 * day + 1, "m/a", 1),
    ]):  # fmt: skip
        store.record(_record(gateway.key_id, f"r{i}", model, cost, start + offset))
    other_id, _ = gateway.new_key()
    store.record(_record(other_id, "other", "m/a", 5_000, start + 10))

    data = _get(gateway, gateway.key, month=month).json()
    assert data["month"] == month
    assert [(r["day"], r["model"], r["requests"], r["cost_usd"]) for r in data["rows"]] == [
        ("2025-03-01", "m/a", 1, 0.0001),
        ("2025-03-01", "m/b", 1, 0.0002),
        ("2025-03-02", "m/a", 2, 0.0007),
    ]
    assert data["spent_usd"] == 0.001
    assert _get(gateway, gateway.key, month="2025-04").json()["rows"][0]["cost_usd"] == 0.000001
    bad = _get(gateway, gateway.key, month="2025-13")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "month"


def test_usage_requires_a_key_and_shows_the_budget(gateway: GatewayHandle) -> None:
    assert httpx.get(f"{gateway.base_url}/v1/usage").status_code == 401
    record, key = issue_key("capped", 12.5)
    gateway.backends.key_store.put(record)
    data: dict[str, Any] = _get(gateway, key).json()
    assert data["budget_usd"] == 12.5 and data["spent_usd"] == 0 and data["rows"] == []
    assert data["remaining_usd"] == 12.5
