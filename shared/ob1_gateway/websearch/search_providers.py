"""The web search providers an admin can pick (issue 30), behind one small interface: ``search(query, …)`` →
``SearchResult``s, or ``SearchFailed`` with the error code Anthropic's ``web_search_tool_result`` uses
(``unavailable``, ``too_many_requests``, ``query_too_long``). Not yet offered to callers.

- SearXNG (self-hosted, no key): ``GET {url}/search?q=…&format=json``.
- Tavily (keyed): ``POST {url}/search`` with the key as a bearer token, ``include_domains`` / ``exclude_domains``.

``allowed_domains`` / ``blocked_domains`` go to the provider where it takes them and are always applied to what
comes back (a domain matches itself and its subdomains), so a provider that ignores them cannot widen a search.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import httpx

from ..upstream.http import FAULTS, Transport, build_request, read_body, timeouts

__all__ = ["MAX_QUERY_CHARS", "SearXNG", "SearchFailed", "SearchProvider", "SearchResult", "Tavily"]

MAX_QUERY_CHARS = 400


@dataclass(frozen=True)
class SearchResult:
    url: str
    title: str
    text: str  # the provider's snippet or extract: what the model reads
    page_age: str | None = None


class SearchFailed(Exception):
    """A search that produced nothing; ``code`` is Anthropic's web search error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SearchProvider(Protocol):
    async def search(
        self,
        query: str,
        *,
        max_results: int = 5,
        allowed_domains: Iterable[str] = (),
        blocked_domains: Iterable[str] = (),
    ) -> list[SearchResult]: ...

    async def aclose(self) -> None: ...


def _in(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in (d.lower().strip(".") for d in domains))


def _kept(
    results: list[SearchResult], allowed: Iterable[str], blocked: Iterable[str], limit: int
) -> list[SearchResult]:
    allowed, blocked = list(allowed), list(blocked)
    kept = []
    for result in results:
        host = (urlsplit(result.url).hostname or "").lower()
        if urlsplit(result.url).scheme not in ("http", "https") or not host:
            continue
        if (allowed and not _in(host, allowed)) or _in(host, blocked):
            continue
        kept.append(result)
    return kept[:limit]


class _HttpProvider:
    """The HTTP both providers share: one transport, the failures mapped to the tool's error codes."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._transport = Transport(limit=20)

    async def _call(self, method: str, url: str, headers: dict[str, str], body: bytes | None = None) -> Any:
        extensions = timeouts(connect=self.timeout, read=self.timeout, pool=self.timeout)
        request = build_request(method, httpx.URL(url), httpx.Headers(headers), body, extensions)
        try:
            response = await self._transport.handle_async_request(request)
            payload = await read_body(response)
        except FAULTS:
            raise SearchFailed("unavailable", "the search provider cannot be reached") from None
        if response.status_code == 429:
            raise SearchFailed("too_many_requests", "the search provider is rate limiting")
        if response.status_code != 200:
            raise SearchFailed("unavailable", f"the search provider answered {response.status_code}")
        try:
            return json.loads(payload)
        except ValueError:
            raise SearchFailed("unavailable", "the search provider's answer is not JSON") from None

    @staticmethod
    def _checked(query: str) -> str:
        query = query.strip()
        if not query:
            raise SearchFailed("invalid_input", "the query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise SearchFailed("query_too_long", f"the query is longer than {MAX_QUERY_CHARS} characters")
        return query

    async def aclose(self) -> None:
        await self._transport.aclose()


class SearXNG(_HttpProvider):
    async def search(
        self,
        query: str,
        *,
        max_results: int = 5,
        allowed_domains: Iterable[str] = (),
        blocked_domains: Iterable[str] = (),
    ) -> list[SearchResult]:
        params = urlencode({"q": self._checked(query), "format": "json"})
        answer = await self._call("GET", f"{self.url}/search?{params}", {"accept": "application/json"})
        rows = answer.get("results") if isinstance(answer, dict) else None
        results = [
            SearchResult(
                url=str(row.get("url") or ""),
                title=str(row.get("title") or ""),
                text=str(row.get("content") or ""),
                page_age=row.get("publishedDate") if isinstance(row.get("publishedDate"), str) else None,
            )
            for row in rows or []
            if isinstance(row, dict)
        ]
        return _kept(results, allowed_domains, blocked_domains, max_results)


class Tavily(_HttpProvider):
    def __init__(self, url: str, api_key: str, *, timeout: float = 10.0) -> None:
        super().__init__(url, timeout=timeout)
        self._api_key = api_key

    async def search(
        self,
        query: str,
        *,
        max_results: int = 5,
        allowed_domains: Iterable[str] = (),
        blocked_domains: Iterable[str] = (),
    ) -> list[SearchResult]:
        allowed, blocked = list(allowed_domains), list(blocked_domains)
        request: dict[str, Any] = {"query": self._checked(query), "max_results": max_results}
        if allowed:
            request["include_domains"] = allowed
        if blocked:
            request["exclude_domains"] = blocked
        headers = {"authorization": f"Bearer {self._api_key}", "content-type": "application/json"}
        answer = await self._call("POST", f"{self.url}/search", headers, json.dumps(request).encode())
        rows = answer.get("results") if isinstance(answer, dict) else None
        results = [
            SearchResult(
                url=str(row.get("url") or ""),
                title=str(row.get("title") or ""),
                text=str(row.get("content") or ""),
                page_age=row.get("published_date") if isinstance(row.get("published_date"), str) else None,
            )
            for row in rows or []
            if isinstance(row, dict)
        ]
        return _kept(results, allowed, blocked, max_results)
