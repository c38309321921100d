"""``RequestMeter``: what is known about one request while it runs, and its one usage record when it ends
(tokens priced by ``pricing.py``; written by ``recorder.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..stores.base import UsageRecord
from ..translate.token_count import estimate_output_tokens
from ..translate.token_usage import Usage
from .pricing import cost_usd, to_micros

__all__ = ["RequestMeter"]


class WebUse(Protocol):
    """What a request's web tool runs used (``websearch.tool_runner.ToolRunner``)."""

    searches: int
    fetches: int

    @property
    def cost_usd(self) -> float: ...


@dataclass
class RequestMeter:
    """What is known about one request while it runs."""

    request_id: str
    key_id: str
    route: str
    stream: bool
    key_name: str = ""
    model: str = ""
    pricing: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    first_byte_at: float | None = None  # perf_counter when the first upstream stream chunk arrived
    # The prompt's local token estimate, computed only for a stream left before its usage came.
    estimate_input: Callable[[], int] | None = None
    # The share of the key's monthly budget used once a cost (micro-USD) counts (BudgetGuard.share_after).
    budget_share: Callable[[int], float | None] | None = None
    session_id: str = ""  # the client's session (api/client_session.py), "" when it named none
    recorded: bool = False  # its one record is made: nothing else may record it (api/settlement.py)
    web: WebUse | None = None  # the gateway's web tools it ran: counted, and their cost added to the tokens'

    def mark_first_byte(self) -> None:
        """Note the first upstream chunk (later calls keep the first time)."""
        if self.first_byte_at is None:
            self.first_byte_at = time.perf_counter()

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_byte_at is None else round((self.first_byte_at - self.started) * 1000, 3)

    def record(
        self,
        usage: Usage,
        status: int,
        table: dict[str, dict[str, float]] | None = None,
        *,
        estimated: bool = False,
    ) -> UsageRecord:
        """The request's record; called once, when the request ends. ``estimated``: ``usage`` is the
        gateway's estimate (``left_stream_usage``), priced as usual."""
        self.recorded = True
        web = self.web
        tools_usd = web.cost_usd if web is not None else 0.0
        cost_micros = to_micros(cost_usd(usage, self.pricing, (table or {}).get(self.model)) + tools_usd)
        share = self.budget_share(cost_micros) if self.budget_share is not None else None
        record = UsageRecord(
            request_id=self.request_id,
            key_id=self.key_id,
            model=self.model,
            route=self.route,
            stream=self.stream,
            status=status,
            input_tokens=usage.input_tokens,
            output_tokens=usage.completion_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cost_micros=cost_micros,
            latency_ms=round((time.perf_counter() - self.started) * 1000, 3),
            key_name=self.key_name,
            ttft_ms=self.ttft_ms,
            estimated=estimated,
            session_id=self.session_id,
            web_searches=web.searches if web is not None else 0,
            web_fetches=web.fetches if web is not None else 0,
            budget_used_pct=None if share is None else round(share * 100, 3),
        )
        return record

    def left_stream_usage(self, reported: Usage, relayed_chars: int) -> tuple[Usage, bool]:
        """The usage of a stream the client left: the upstream's figure if it arrived, else (estimated)
        the prompt's local estimate and the text relayed so far. The upstream received the whole prompt
        and generated until the gateway closed the stream, so a 0-token record would under-bill it."""
        if reported != Usage():
            return reported, False
        prompt = self.estimate_input() if self.estimate_input is not None else 0
        return Usage(prompt_tokens=prompt, completion_tokens=estimate_output_tokens(relayed_chars)), True
