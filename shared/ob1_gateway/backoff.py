"""The one backoff every retry loop uses (upstream requests, DynamoDB transactions, the token lease)."""

from __future__ import annotations

import random
from collections.abc import Iterator

__all__ = ["backoff_delays"]


def backoff_delays(base: float, cap: float, factor: float = 2.0) -> Iterator[float]:
    """Exponential backoff with equal jitter: the n-th wait lies between half and all of
    ``min(cap, base · factorⁿ)``, so waiters that collided spread out yet none waits past the cap."""
    ceiling = min(base, cap)
    while True:
        yield ceiling / 2 + random.uniform(0, ceiling / 2)
        ceiling = min(ceiling * factor, cap)
