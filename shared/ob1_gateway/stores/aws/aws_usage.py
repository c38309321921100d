"""Usage in DynamoDB, written exactly once per request id.

One ``TransactWriteItems`` per request: a conditional Put of ``KEY#<id> / REQ#<request_id>`` and an
``ADD`` to the ``DAY#<day>#MODEL#<model>`` counters. The REQ sort key is the request id alone (the
time is an attribute): the condition can only catch a replay if a replay produces the same key, and
a replayed request is stamped with a new time. Both writes commit or neither does, so the counters
always equal the sum of the REQ items they were built from.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from ...backoff import backoff_delays
from ..base import USAGE_COUNTERS, USAGE_GROUPS, UsageRecord, UsageTotal, utc_day
from .aws_items import (
    GSI1,
    USAGE_PARTITION,
    day_sk,
    deserialize,
    key_pk,
    req_sk,
    serialize,
    to_int,
)

_COUNTERS = USAGE_COUNTERS
_GROUPABLE = USAGE_GROUPS
_RETRYABLE = {
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
}
_DAY_SECONDS = 86_400


def _cancellation_codes(exc: Any) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    codes = [str(r.get("Code", "")) for r in reasons]
    if not codes:  # some emulators only put the reasons in the message
        message = str(exc.response.get("Error", {}).get("Message", ""))
        codes = [c for c in ("ConditionalCheckFailed", *_RETRYABLE) if c in message]
    return codes


def _whole_day(ts: float | None) -> bool:
    return ts is None or ts % _DAY_SECONDS == 0


class DynamoUsageStore:
    def __init__(self, client: Any, table_name: str, *, retention_days: int = 90, max_attempts: int = 8) -> None:
        self._client = client
        self.table_name = table_name
        self.retention_days = retention_days
        self.max_attempts = max_attempts

    # -- write -------------------------------------------------------------------------------------

    def _transaction(self, usage: UsageRecord) -> list[dict[str, Any]]:
        day = utc_day(usage.ts)
        request_item = {
            "PK": key_pk(usage.key_id),
            "SK": req_sk(usage.request_id),
            "request_id": usage.request_id,
            "key_id": usage.key_id,
            "model": usage.model,
            "route": usage.route,
            "stream": usage.stream,
            "status": usage.status,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "cost_micros": usage.cost_micros,
            "latency_ms": float(usage.latency_ms),
            "ts": float(usage.ts),
            "estimated": usage.estimated,
            "session_id": usage.session_id,
            "web_searches": usage.web_searches,
            "web_fetches": usage.web_fetches,
            "day": day,
            "expires_at": int(usage.ts) + self.retention_days * _DAY_SECONDS,
        }
        increments = {
            ":requests": 1,
            ":input_tokens": usage.input_tokens,
            ":output_tokens": usage.output_tokens,
            ":cache_read_tokens": usage.cache_read_tokens,
            ":cache_write_tokens": usage.cache_write_tokens,
            ":cost_micros": usage.cost_micros,
            ":estimated_requests": int(usage.estimated),
            ":web_searches": usage.web_searches,
            ":web_fetches": usage.web_fetches,
        }
        labels = {
            ":key_id": usage.key_id,
            ":model": usage.model,
            ":day": day,
            ":gpk": USAGE_PARTITION,
            ":gsk": f"DAY#{day}#KEY#{usage.key_id}#MODEL#{usage.model}",
        }
        return [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": serialize(request_item),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": serialize({"PK": key_pk(usage.key_id), "SK": day_sk(day, usage.model)}),
                    "UpdateExpression": (
                        "ADD "
                        + ", ".join(f"#{c} :{c}" for c in _COUNTERS)
                        + " SET #key_id = :key_id, #model = :model, #day = :day, GSI1PK = :gpk, GSI1SK = :gsk"
                    ),
                    "ExpressionAttributeNames": {f"#{n}": n for n in (*_COUNTERS, "key_id", "model", "day")},
                    "ExpressionAttributeValues": serialize({**increments, **labels}),
                }
            },
        ]

    def record(self, usage: UsageRecord) -> bool:
        """Store once; False when this request id was already recorded (the transaction is cancelled).

        Concurrent writers to one DAY item cancel each other with ``TransactionConflict``; those are
        retried with jittered backoff, and the REQ condition keeps a retry from counting twice.
        """
        items = self._transaction(usage)
        delays = backoff_delays(0.02, 1.0)
        for attempt in range(1, self.max_attempts + 1):
            try:
                self._client.transact_write_items(TransactItems=items)
                return True
            except self._client.exceptions.TransactionCanceledException as exc:
                codes = _cancellation_codes(exc)
                if "ConditionalCheckFailed" in codes:
                    return False
                if attempt == self.max_attempts or not _RETRYABLE.intersection(codes):
                    raise
            time.sleep(next(delays))
        raise AssertionError("unreachable")

    def record_many(self, batch: list[UsageRecord]) -> list[bool]:
        """One transaction per record: each request's counters must add up on their own."""
        return [self.record(usage) for usage in batch]

    # -- read --------------------------------------------------------------------------------------

    def _pages(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self._client.get_paginator(operation).paginate(TableName=self.table_name, **kwargs):
            for item in page.get("Items", []):
                yield deserialize(item)

    def _day_items(self, since: float | None, until: float | None, key_id: str | None) -> Iterator[dict[str, Any]]:
        # "DAY#<d>" sorts before every "DAY#<d>#..." key and "DAY$" after every "DAY#..." key, so one
        # BETWEEN selects whole days [since, until) without touching META or REQ items.
        lo = f"DAY#{utc_day(since)}" if since is not None else "DAY#"
        hi = f"DAY#{utc_day(until)}" if until is not None else "DAY$"
        values = serialize({":lo": lo, ":hi": hi})
        if key_id is not None:
            values.update(serialize({":pk": key_pk(key_id)}))
            return self._pages(
                "query",
                KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
                ExpressionAttributeValues=values,
                ConsistentRead=True,
            )
        values.update(serialize({":pk": USAGE_PARTITION}))
        return self._pages(
            "query",
            IndexName=GSI1,
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues=values,
        )

    def _request_items(self, since: float | None, until: float | None, key_id: str | None) -> Iterator[dict[str, Any]]:
        filters = ["begins_with(SK, :req)"]
        values: dict[str, str | float] = {":req": "REQ#"}
        if since is not None:
            filters.append("ts >= :since")
            values[":since"] = float(since)
        if until is not None:
            filters.append("ts < :until")
            values[":until"] = float(until)
        if key_id is None:
            return self._pages(
                "scan", FilterExpression=" AND ".join(filters), ExpressionAttributeValues=serialize(values)
            )
        values[":pk"] = key_pk(key_id)
        extra = {"FilterExpression": " AND ".join(filters[1:])} if len(filters) > 1 else {}
        return self._pages(
            "query",
            KeyConditionExpression="PK = :pk AND begins_with(SK, :req)",
            ExpressionAttributeValues=serialize(values),
            ConsistentRead=True,
            **extra,
        )

    def totals(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        key_id: str | None = None,
        group_by: tuple[str, ...] = ("key_id", "model"),
    ) -> list[UsageTotal]:
        """Sums per group. Whole-UTC-day windows read the DAY counters (cheap, kept forever);
        a window cut mid-day, or sums by session (the counters are per key, model and day), sum the REQ items
        instead, which is exact but limited to the TTL window (``retention_days``)."""
        unknown = set(group_by) - set(_GROUPABLE)
        if unknown:
            raise ValueError(f"cannot group usage by {sorted(unknown)}")
        if _whole_day(since) and _whole_day(until) and "session_id" not in group_by:
            items: Iterable[dict[str, Any]] = self._day_items(since, until, key_id)
        else:
            items = (
                {**item, "requests": 1, "estimated_requests": int(bool(item.get("estimated")))}
                for item in self._request_items(since, until, key_id)
            )
        sums: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0] * len(_COUNTERS))
        for item in items:
            acc = sums[tuple(str(item.get(g, "")) for g in group_by)]  # items older than session ids have none
            for i, name in enumerate(_COUNTERS):
                acc[i] += to_int(item.get(name))
        totals = []
        for group in sorted(sums):
            values = dict(zip(group_by, group, strict=True))
            acc = sums[group]
            if not acc[0]:
                continue
            totals.append(
                UsageTotal(
                    key_id=values.get("key_id"),
                    model=values.get("model"),
                    day=values.get("day"),
                    session_id=values.get("session_id"),
                    **dict(zip(_COUNTERS, acc, strict=True)),
                )
            )
        return totals

    def records(self) -> Iterator[UsageRecord]:
        """Every REQ item still inside the TTL window, oldest first (a scan: this is for exports)."""
        items = list(
            self._pages(
                "scan",
                FilterExpression="begins_with(SK, :req)",
                ExpressionAttributeValues=serialize({":req": "REQ#"}),
            )
        )
        for item in sorted(items, key=lambda i: float(i["ts"])):
            yield UsageRecord(
                request_id=str(item["request_id"]),
                key_id=str(item["key_id"]),
                model=str(item["model"]),
                route=str(item["route"]),
                stream=bool(item["stream"]),
                status=int(item["status"]),
                input_tokens=to_int(item.get("input_tokens")),
                output_tokens=to_int(item.get("output_tokens")),
                cache_read_tokens=to_int(item.get("cache_read_tokens")),
                cache_write_tokens=to_int(item.get("cache_write_tokens")),
                cost_micros=to_int(item.get("cost_micros")),
                latency_ms=float(item.get("latency_ms", 0)),
                ts=float(item["ts"]),
                estimated=bool(item.get("estimated", False)),
                session_id=str(item.get("session_id", "")),
                web_searches=to_int(item.get("web_searches")),
                web_fetches=to_int(item.get("web_fetches")),
            )
