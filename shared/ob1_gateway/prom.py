"""Prometheus metrics for ``ob1gw serve`` (``GET /metrics``), from the same usage records the bill is made
of: requests and errors, tokens and cost by model and key, latency and time-to-first-token histograms,
OB-1 token refreshes. On AWS the same figures are CloudWatch metrics (observability.py) instead."""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from .api.request_log import UnmeteredRequest
from .stores.base import UsageRecord

__all__ = ["CONTENT_TYPE", "GatewayMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


class GatewayMetrics:
    """A UsageListener (one record per request) with its own registry, so two apps in one process
    (the tests) never share counters. Under ``ob1gw serve --workers N`` the supervisor sets
    ``PROMETHEUS_MULTIPROC_DIR`` before the workers import this module: each worker's counts go to files
    there, and a scrape, whichever worker answers it, reports the sum of all of them."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        by_request = ("route", "model", "key", "status")
        self.requests = Counter("ob1gw_requests", "Requests by outcome", by_request, registry=r)
        self.errors = Counter("ob1gw_errors", "Requests that did not end in 200", by_request, registry=r)
        self.tokens = Counter("ob1gw_tokens", "Tokens by kind", ("model", "key", "kind"), registry=r)
        self.cost = Counter("ob1gw_cost_usd", "Cost in USD", ("model", "key"), registry=r)
        timed, buckets = ("route", "model"), _LATENCY_BUCKETS
        self.latency = Histogram("ob1gw_request_seconds", "Whole request time", timed, buckets=buckets, registry=r)
        self.ttft = Histogram(
            "ob1gw_time_to_first_token_seconds", "Streams: first upstream chunk", timed, buckets=buckets, registry=r
        )
        self.refreshes = Counter("ob1gw_token_refreshes", "OB-1 token refreshes", registry=r)

    def submitted(self, record: UsageRecord) -> None:
        key = record.key_name or record.key_id
        status = str(record.status)
        self.requests.labels(record.route, record.model, key, status).inc()
        if record.status != 200:
            self.errors.labels(record.route, record.model, key, status).inc()
        for kind in ("input", "output", "cache_read", "cache_write"):
            count = getattr(record, f"{kind}_tokens")
            if count:
                self.tokens.labels(record.model, key, kind).inc(count)
        if record.cost_micros:
            self.cost.labels(record.model, key).inc(record.cost_micros / 1_000_000)
        self.latency.labels(record.route, record.model).observe(record.latency_ms / 1000)
        if record.ttft_ms is not None:
            self.ttft.labels(record.route, record.model).observe(record.ttft_ms / 1000)

    def settled(self, records: Iterable[UsageRecord]) -> None:
        return None

    def unmetered(self, request: UnmeteredRequest) -> None:
        """A request that ended without a usage record (a refusal, ``/v1/models``): model "none"."""
        labels = (request.route, "none", request.key_name or request.key_id or "none", str(request.status))
        self.requests.labels(*labels).inc()
        if request.status != 200:
            self.errors.labels(*labels).inc()

    def refreshed(self) -> None:
        self.refreshes.inc()

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            every_worker = CollectorRegistry()
            MultiProcessCollector(every_worker)  # type: ignore[no-untyped-call]
            return generate_latest(every_worker)
        return generate_latest(self.registry)
