"""Admission's refusals (``access/``) in the caller's API: a key that opens nothing is a 401/403; a spent
budget a 429 with ``x-should-retry: false`` (the official SDKs must not retry a refusal that lasts until
the month ends or an admin raises the budget); a rate-limit refusal a 429 with ``retry-after`` (the
anthropic and openai SDKs and Claude Code back off on it) and the rate-limit headers each API defines; a
model outside the key's list a 403 naming the model and what the key may use."""

from __future__ import annotations

from datetime import UTC, datetime

from ..access.authenticator import KeyRefused
from ..access.budgets import BudgetExceeded
from ..access.keys import model_allowed
from ..access.rate_limits import RateLimited
from ..stores.base import KeyRecord
from ..upstream.catalog import Model
from .errors import ApiError

__all__ = ["admission_error", "check_model_allowed", "rate_limited_error"]


def admission_error(exc: KeyRefused | BudgetExceeded | RateLimited, anthropic: bool) -> ApiError:
    """The refusal ``exc`` as the caller's API words it (``anthropic``: see ``speaks_anthropic``)."""
    if isinstance(exc, KeyRefused):  # the same key will be refused again: the SDKs and Claude Code stop here
        return ApiError(exc.status, exc.message, code=exc.code, headers={"x-should-retry": "false"})
    if isinstance(exc, BudgetExceeded):
        return ApiError(429, str(exc), code="budget_exceeded", headers={"x-should-retry": "false"})
    return rate_limited_error(anthropic, exc)


def rate_limited_error(anthropic: bool, exc: RateLimited) -> ApiError:
    """The 429 with the rate-limit headers of the caller's API (``anthropic``: see ``speaks_anthropic``)."""
    retry_after = exc.retry_after()
    headers = {"retry-after": str(retry_after)}
    kind = "requests" if exc.kind == "parallel" else exc.kind
    if anthropic:
        reset = datetime.fromtimestamp(exc.reset_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        prefix = f"anthropic-ratelimit-{kind}"
        headers |= {
            f"{prefix}-limit": str(exc.limit),
            f"{prefix}-remaining": str(exc.remaining),
            f"{prefix}-reset": reset,
        }
    else:
        headers |= {
            f"x-ratelimit-limit-{kind}": str(exc.limit),
            f"x-ratelimit-remaining-{kind}": str(exc.remaining),
            f"x-ratelimit-reset-{kind}": f"{retry_after}s",
        }
    return ApiError(429, f"{exc}; retry in {retry_after} s", code="rate_limit_exceeded", headers=headers)


def check_model_allowed(key: KeyRecord, requested: str, model: Model) -> None:
    if not model_allowed(key.policy, model.id):
        allowed = ", ".join(key.policy.models)
        raise ApiError(
            403,
            f"key {key.key_id} may not use model {requested} ({model.id}); it may use: {allowed}",
            param="model",
            code="model_not_allowed",
        )
