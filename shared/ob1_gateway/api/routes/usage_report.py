"""``GET /v1/usage``: the calling key's own usage this UTC month (or ``?month=YYYY-MM``), by day and model
(or ``?by=`` any of day, model, session: the client's session id). Only ever the caller's key: there is no
parameter that selects another one."""

from __future__ import annotations

import asyncio
import re
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...access.budgets import month_of, month_start
from ...stores.base import KeyRecord
from ..deps import gateway
from ..errors import ApiError
from ..request_admission import caller

router = APIRouter()

# Years 1970-9998: a month whose start and end are both epoch timestamps (9999-12 has no next month).
_MONTH = re.compile(r"^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$")


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


_GROUPS = {"day": "day", "model": "model", "session": "session_id"}


def _group_by(by: str) -> tuple[str, ...]:
    names = [name.strip() for name in by.split(",") if name.strip()]
    if not names or len(names) > len(_GROUPS) or any(name not in _GROUPS for name in names):
        raise ApiError(400, "'by' must be a comma-separated list of day, model, session", param="by")
    return tuple(dict.fromkeys(_GROUPS[name] for name in names))


@router.get("/v1/usage")
async def usage(
    request: Request, month: str | None = None, by: str = "day,model", key: KeyRecord = Depends(caller)
) -> JSONResponse:
    month = month or month_of(time.time())
    if not _MONTH.match(month) or month >= "9999-12":
        raise ApiError(400, "'month' must look like YYYY-MM (1970-01 to 9999-11)", param="month")
    group_by = _group_by(by)
    totals = await asyncio.to_thread(
        gateway(request).backends.usage_store.totals,
        since=month_start(month),
        until=month_start(_next_month(month)),
        key_id=key.key_id,
        group_by=group_by,
    )
    rows = [
        {
            **{field: getattr(t, field) for field in group_by},
            "requests": t.requests,
            "input_tokens": t.input_tokens,
            "output_tokens": t.output_tokens,
            "cache_read_tokens": t.cache_read_tokens,
            "cache_write_tokens": t.cache_write_tokens,
            "cost_usd": t.cost_usd,
            "estimated_requests": t.estimated_requests,
            "web_searches": t.web_searches,
            "web_fetches": t.web_fetches,
        }
        for t in totals
    ]
    spent_micros = sum(t.cost_micros for t in totals)
    return JSONResponse(
        {
            "object": "usage",
            "key_id": key.key_id,
            "month": month,
            "budget_usd": key.budget_usd,
            "spent_usd": spent_micros / 1_000_000,
            "remaining_usd": None if key.budget_usd is None else max(key.budget_usd - spent_micros / 1_000_000, 0.0),
            "rows": rows,
        }
    )
