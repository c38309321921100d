"""Prometheus metrics for ``ob1gw serve`` (``GET /metrics``), from the same usage records the bill is made
of: requests and errors (refused ones too, with model "none"), tokens and cost by model and key, latency
and time-to-first-token histograms, OB-1 token refreshes and failed refreshes; and, read from the stores
at scrape time, the login's expiry and each budgeted key's share of its budget used this month (what
deploy/prometheus-alerts.yml alerts on). On AWS the same figures are CloudWatch metrics (powertools.py)
instead."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ..access.budgets import budget_share, month_of, month_start
from ..stores.base import Backends, UsageRecord
from .request_event import UnmeteredRequest

__all__ = ["CONTENT_TYPE", "GatewayMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


class GatewayMetrics:
    """A UsageListener (one record per request) with its own registry, so two apps in one process
    (the tests) never share counters. Under ``ob1gw serve --workers N`` the supervisor sets
    ``PROMETHEUS_MULTIPROC_DIR`` before the workers import this module: each worker's counts go to files
    there, and a scrape, whichever worker answers it, reports the sum of all of them."""

    def __init__(self, backends: Backends | None = None, *, login: bool = True) -> None:
        self.state = StoredState(backends, login=login) if backends is not None else None
        self.registry = r = CollectorRegistry()
        by_request = ("route", "model", "key", "status")
        self.requests = Counter("ob1gw_requests", "Requests by outcome", by_request, registry=r)
        self.errors = Counter("ob1gw_errors", "Requests that did not end in 200", by_request, registry=r)
        self.tokens = Counter("ob1gw_tokens", "Tokens by kind", ("model", "key", "kind"), registry=r)
        self.cost = Counter("ob1gw_cost_usd", "Cost in USD", ("model", "key"), registry=r)
        self.web_tools = Counter(
            "ob1gw_web_tool_runs", "The gateway's web searches and fetches", ("key", "tool"), registry=r
        )
        timed, buckets = ("route", "model"), _LATENCY_BUCKETS
        self.latency = Histogram("ob1gw_request_seconds", "Whole request time", timed, buckets=buckets, registry=r)
        self.ttft = Histogram(
            "ob1gw_time_to_first_token_seconds", "Streams: first upstream chunk", timed, buckets=buckets, registry=r
        )
        self.refreshes = Counter("ob1gw_token_refreshes", "OB-1 token refreshes", registry=r)
        self.refresh_failures = Counter("ob1gw_token_refresh_failures", "OB-1 token refreshes that failed", registry=r)
        if self.state is not None:
            r.register(self.state)

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
        for tool, count in (("search", record.web_searches), ("fetch", record.web_fetches)):
            if count:
                self.web_tools.labels(key, tool).inc(count)
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

    def refresh_failed(self) -> None:
        self.refresh_failures.inc()

    def render(self) -> bytes:
        """The exposition text; reads the stores (``StoredState``), so call it from a worker thread."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            every_worker = CollectorRegistry()
            MultiProcessCollector(every_worker)  # type: ignore[no-untyped-call]
            if self.state is not None:
                every_worker.register(self.state)
            return generate_latest(every_worker)
        return generate_latest(self.registry)


class StoredState(Collector):
    """Gauges read from the stores when scraped, so every worker reports the same values and a restart
    loses none: the OB-1 login's expiry (and whether it can be refreshed) and, per key with a budget,
    the share of it used this UTC month (the spend ``BudgetGuard`` checks against)."""

    def __init__(self, backends: Backends, *, login: bool) -> None:
        self.backends = backends
        self.login = login  # False with a static upstream key: there is no login to expire

    def collect(self) -> Iterator[Metric]:
        if self.login:
            token = self.backends.token_store.load()
            expiry = GaugeMetricFamily(
                "ob1gw_login_expiry_timestamp_seconds",
                "When the stored OB-1 access token expires (epoch seconds; 0 when there is no login)",
            )
            expiry.add_metric([], token.expires_at if token is not None else 0.0)
            refreshable = GaugeMetricFamily(
                "ob1gw_login_refreshable", "1 when the stored OB-1 login has a refresh token, else 0"
            )
            refreshable.add_metric([], 1.0 if token is not None and token.refresh_token else 0.0)
            yield expiry
            yield refreshable
        month = month_of(time.time())
        budgeted = [k for k in self.backends.key_store.list() if k.budget_usd is not None and not k.disabled]
        spent = (
            {
                t.key_id: t.cost_micros
                for t in self.backends.usage_store.totals(since=month_start(month), group_by=("key_id",))
            }
            if budgeted
            else {}
        )
        share = GaugeMetricFamily(
            "ob1gw_budget_used_ratio",
            "Share of the key's monthly budget spent this UTC month (1 = all of it)",
            labels=("key", "key_id"),
        )
        for key in budgeted:
            share.add_metric([key.name, key.key_id], budget_share(spent.get(key.key_id, 0), key.budget_usd or 0.0))
        yield share
