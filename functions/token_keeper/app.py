"""TokenKeeperFunction: refresh the OB-1 login ahead of expiry, on an EventBridge schedule.

Requests then almost never pay for a refresh themselves. The refresh goes through the same
OB1TokenManager (and DynamoDB lease) the request path uses, so a keeper run racing a request that
also decided to refresh costs one refresh, not two. Returns a status without any token material.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from ob1_gateway.settings import get_settings
from ob1_gateway.stores.backends import build_backends

logger = Logger()
metrics = Metrics()


async def keep_fresh(margin_seconds: float | None = None) -> dict[str, Any]:
    from ob1_gateway.upstream.token import OB1TokenManager

    settings = get_settings()
    if margin_seconds is None:  # two schedule periods by default, never less than the app's own margin
        margin_seconds = max(settings.keeper_margin_seconds, settings.refresh_margin_seconds)
    margin = margin_seconds
    store = build_backends(settings).token_store
    before = await asyncio.to_thread(store.load)
    if before is None:
        return {"status": "not_logged_in"}
    manager = OB1TokenManager.from_settings(settings, store, margin_seconds=margin)
    await manager.authorization()
    after = await asyncio.to_thread(store.load) or before
    return {
        "status": "refreshed" if after.expires_at != before.expires_at else "fresh",
        "expires_in": int(after.expires_at - time.time()),
        "margin_seconds": int(margin),
    }


def _stored_expires_in() -> int | None:
    """How long the stored login has left, when a run failed (None if even the store cannot be read)."""
    try:
        token = build_backends(get_settings()).token_store.load()
    except Exception:
        return None
    return int(token.expires_at - time.time()) if token is not None else 0


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Every run reports ``TokenExpiresInSeconds`` (0 without a login): the LoginExpiringAlarm fires when
    it drops below the keeper's margin, and when runs stop reporting it (missing data is breaching)."""
    try:
        result = asyncio.run(keep_fresh())
    except Exception:
        logger.exception("OB-1 token refresh failed")
        metrics.add_metric(name="TokenRefreshFailed", unit=MetricUnit.Count, value=1)
        left = _stored_expires_in()
        if left is not None:
            metrics.add_metric(name="TokenExpiresInSeconds", unit=MetricUnit.Seconds, value=left)
        raise  # a failed run also shows in the function's Errors metric (LambdaErrorsAlarm)
    if result["status"] == "refreshed":
        metrics.add_metric(name="TokenRefreshed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="TokenExpiresInSeconds", unit=MetricUnit.Seconds, value=result.get("expires_in", 0))
    logger.info("token keeper", extra=result)
    return result
