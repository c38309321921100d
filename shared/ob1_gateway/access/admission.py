"""``Access.admit``: the one admission of a request that spends, in a fixed order — the key
(authentication), its monthly budget, then its rate limits and requests in flight. Each refusal is its own
exception (``KeyRefused``, ``BudgetExceeded``, ``RateLimited``); the HTTP layer words them in the caller's
API (``api/access_errors.py``). Routes that spend nothing only ``authenticate``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ..stores.base import KeyRecord
from .authenticator import KeyAuthenticator
from .budgets import BudgetGuard
from .rate_limits import RateLimiter

__all__ = ["Access"]


@dataclass
class Access:
    authenticator: KeyAuthenticator
    budgets: BudgetGuard
    limiter: RateLimiter

    async def authenticate(self, presented: str | None, on_key: Callable[[KeyRecord], None]) -> KeyRecord:
        """The presented key's record (``KeyRefused`` otherwise); ``on_key`` as in ``KeyAuthenticator``."""
        return await self.authenticator.authenticate(presented, on_key)

    async def admit(self, presented: str | None, request_id: str, on_key: Callable[[KeyRecord], None]) -> KeyRecord:
        """Authenticate, check the budget, then take the request's rate and parallel slots under
        ``request_id``: from here on it must end in one usage record or ``release`` (which frees them)."""
        key = await self.authenticate(presented, on_key)
        await self.budgets.check(key)
        await self.limiter.admit(key, request_id)
        return key

    async def release(self, request_id: str, key_id: str) -> None:
        """Free what an admitted request took when it ends without a usage record (it never went upstream)."""
        await self.limiter.release(request_id, key_id)

    def budget_share(self, key: KeyRecord) -> Callable[[int], float | None] | None:
        """How much of ``key``'s budget a cost would use (``RequestMeter.budget_share``); None without one."""
        return partial(self.budgets.share_after, key) if key.budget_usd is not None else None
