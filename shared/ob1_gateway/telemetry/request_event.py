"""``UnmeteredRequest``: what the HTTP layer tells the metric listeners (Prometheus locally, EMF on AWS)
about a request that ended without a usage record (api/request_log.py sends it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RequestListener", "UnmeteredRequest"]


@dataclass(frozen=True)
class UnmeteredRequest:
    """A request that ended without a usage record: nothing was sent upstream, nothing is billed."""

    request_id: str
    method: str
    path: str
    route: str  # the matched route template, or "other": a metric label that scanners cannot multiply
    status: int
    key_id: str = ""
    key_name: str = ""
    reason: str = ""
    latency_ms: float = 0.0


RequestListener = Callable[[UnmeteredRequest], None]
