"""``within_budget``: the caller's key (``caller``) within its monthly budget, for routes that spend. The
spending routes call it first thing rather than declaring it a FastAPI dependency: resolving dependencies
was ~9 % of the CPU of a request (bench/README.md, "CPU per request").

Over budget is a 429 in the API's own error shape (Anthropic under /v1/messages, OpenAI elsewhere)
stating the budget and this month's spend, with ``x-should-retry: false`` so the official SDKs do not
retry a refusal that lasts until the month ends or an admin raises the budget.
"""

from __future__ import annotations

from fastapi import Request

from ..access.budgets import BudgetExceeded, BudgetGuard
from ..stores.base import KeyRecord
from .deps import caller
from .errors import ApiError


def budget_guard(request: Request) -> BudgetGuard | None:
    return getattr(request.app.state, "budgets", None)


async def within_budget(request: Request) -> KeyRecord:
    key = await caller(request)
    guard = budget_guard(request)
    if guard is None or key.budget_usd is None:
        return key
    try:
        await guard.check(key)
    except BudgetExceeded as exc:
        raise ApiError(429, str(exc), code="budget_exceeded", headers={"x-should-retry": "false"}) from None
    return key
