"""Runs the model's calls of the gateway's web tools within one request's limits (``max_uses``, the domains,
the key's daily allowance), and counts what ran for the usage record. Every failure is the tool's own error
code in the ``ToolRun`` (what the model reads and the caller sees), never a failed request."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ..translate.web_tools import FETCH_FUNCTION, SEARCH_FUNCTION, ToolRun, WebHit, WebTools, url_in, web_url
from .fetcher import FetchRefused
from .search_providers import SearchFailed
from .web_kit import WebKit

__all__ = ["ToolRunner"]

# About 4 characters a token: what ``max_content_tokens`` keeps of a fetched document.
_CHARS_PER_TOKEN = 4
_DEFAULT_FETCH_CHARS = 100_000


class ToolRunner:
    """One request's runs. ``allow_search`` asks the key's daily allowance before each search (True: go on);
    ``searched`` is told of each search made (only those are counted and priced: a failed one costs nothing)."""

    def __init__(
        self,
        kit: WebKit,
        tools: WebTools,
        *,
        context: str = "",
        allow_search: Callable[[], Awaitable[bool]] | None = None,
        searched: Callable[[], None] | None = None,
    ) -> None:
        self.kit = kit
        self.tools = tools
        self.searches = 0
        self.fetches = 0
        self.runs: list[ToolRun] = []
        self._context = context  # the request's own text: the URLs a fetch may name (web_fetch's rule)
        self._allow_search = allow_search
        self._searched = searched
        self._next_number = 1

    @property
    def cost_usd(self) -> float:
        return self.searches * self.kit.search_price_usd

    def count_upstream_search(self) -> None:
        """The request's one search asked of the upstream (its web plugin), made beside this runner's fetches."""
        self.searches += 1

    async def run(self, name: str, arguments: Any) -> ToolRun:
        args = _arguments(arguments)
        run = ToolRun(id="srvtoolu_" + uuid.uuid4().hex[:24], name=name, input=args, first_number=self._next_number)
        if name == SEARCH_FUNCTION:
            await self._search(run)
        else:
            await self._fetch(run)
        self._next_number += len(run.hits)
        self.runs.append(run)
        return run

    def _used(self, name: str) -> int:
        return sum(1 for run in self.runs if run.name == name and run.error != "max_uses_exceeded")

    async def _search(self, run: ToolRun) -> None:
        options, provider = self.tools.search, self.kit.provider
        query = run.input.get("query")
        if options is None or provider is None:
            run.error = "unavailable"
        elif not isinstance(query, str) or not query.strip():
            run.error = "invalid_tool_input"
        elif options.max_uses is not None and self._used(SEARCH_FUNCTION) >= options.max_uses:
            run.error = "max_uses_exceeded"
        elif self._allow_search is not None and not await self._allow_search():
            run.error = "too_many_requests"
        else:
            try:
                found = await provider.search(
                    query,
                    max_results=self.kit.max_results,
                    allowed_domains=options.allowed_domains,
                    blocked_domains=options.blocked_domains,
                    country=options.country,
                )
            except SearchFailed as exc:
                run.error = exc.code
                return
            self.searches += 1
            if self._searched is not None:
                self._searched()
            run.hits = [WebHit(r.url, r.title, r.text, r.page_age) for r in found]

    async def _fetch(self, run: ToolRun) -> None:
        options, fetcher = self.tools.fetch, self.kit.fetcher
        url = run.input.get("url")
        if options is None or fetcher is None:
            run.error = "unavailable"
        elif not isinstance(url, str) or not url.strip():
            run.error = "invalid_tool_input"
        elif len(url) > 2000:
            run.error = "url_too_long"
        elif options.max_uses is not None and self._used(FETCH_FUNCTION) >= options.max_uses:
            run.error = "max_uses_exceeded"
        elif not self._domain_allowed(url, options.allowed_domains, options.blocked_domains):
            run.error = "url_not_allowed"
        elif not self._seen(url):
            run.error = "url_not_in_prior_context"
        else:
            try:
                document = await fetcher.fetch(url.strip())
            except FetchRefused as exc:
                run.error = exc.code
                return
            self.fetches += 1
            limit = (options.max_content_tokens or 0) * _CHARS_PER_TOKEN or _DEFAULT_FETCH_CHARS
            run.hits = [WebHit(document.url, _title(document.text, document.url), document.text[:limit])]
            run.retrieved_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    @staticmethod
    def _domain_allowed(url: str, allowed: tuple[str, ...], blocked: tuple[str, ...]) -> bool:
        url = url.strip()
        return web_url(url) and (not allowed or url_in(url, allowed)) and not url_in(url, blocked)

    def _seen(self, url: str) -> bool:
        """Whether the URL was in the request or in a result so far: a model cannot be talked into fetching an
        address it made up (where a query string could carry the conversation away)."""
        url = url.strip()
        return url in self._context or any(url == hit.url or url in hit.text for r in self.runs for hit in r.hits)


def _arguments(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments) if isinstance(arguments, str) and arguments.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _title(text: str, url: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:120] or url
