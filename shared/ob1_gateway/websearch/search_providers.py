"""The web search providers an admin can pick (issue 30), behind one small interface: ``search(query, …)`` →
``SearchResult``s, or ``SearchFailed`` with the error code Anthropic's ``web_search_tool_result`` uses
(``unavailable``, ``too_many_requests``, ``query_too_long``).

- SearXNG (self-hosted, no key): ``GET {url}/search?q=…&format=json``, domains as ``site:`` / ``-site:`` operators.
- Tavily (keyed): ``POST {url}/search`` with the key as a bearer token, ``include_domains`` / ``exclude_domains``.
- Brave (keyed): ``GET {url}/web/search`` with ``X-Subscription-Token``.
- Exa (keyed): ``POST {url}/search`` with ``x-api-key``, ``includeDomains`` / ``excludeDomains``.

The user's country (``user_location``) goes to Brave (``country``) and Exa (``userLocation``); SearXNG and Tavily
take no country code, so there it is a hint with no effect.

``allowed_domains`` / ``blocked_domains`` go to the provider where it takes them and are always applied to what
comes back (a domain matches itself and its subdomains), so a provider that ignores them cannot widen a search.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

from ..translate.web_tools import hosts_of, url_in, web_url
from ..upstream.http import FAULTS, Transport, build_request, read_body, timeouts

__all__ = [
    "LIST_PRICE_USD",
    "MAX_QUERY_CHARS",
    "Brave",
    "Exa",
    "SearXNG",
    "SearchFailed",
    "SearchProvider",
    "SearchResult",
    "Tavily",
    "provider_named",
]

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
        country: str | None = None,
    ) -> list[SearchResult]: ...

    async def aclose(self) -> None: ...


def _kept(
    results: list[SearchResult], allowed: Iterable[str], blocked: Iterable[str], limit: int
) -> list[SearchResult]:
    allowed, blocked = list(allowed), list(blocked)
    kept = []
    for result in results:
        if not web_url(result.url):
            continue
        if (allowed and not url_in(result.url, allowed)) or url_in(result.url, blocked):
            continue
        kept.append(result)
    return kept[:limit]


class _HttpProvider:
    """The HTTP every provider shares: one transport, the failures mapped to the tool's error codes."""

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
            raise SearchFailed("invalid_tool_input", "the query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise SearchFailed("query_too_long", f"the query is longer than {MAX_QUERY_CHARS} characters")
        return query

    async def aclose(self) -> None:
        await self._transport.aclose()


class _KeyedProvider(_HttpProvider):
    """A provider whose API takes a key (each sends it its own way)."""

    def __init__(self, url: str, api_key: str, *, timeout: float = 10.0) -> None:
        super().__init__(url, timeout=timeout)
        self._api_key = api_key


class SearXNG(_HttpProvider):
    async def search(
        self,
        query: str,
        *,
        max_results: int = 5,
        allowed_domains: Iterable[str] = (),
        blocked_domains: Iterable[str] = (),
        country: str | None = None,
    ) -> list[SearchResult]:
        params = urlencode(
            {"q": self._checked(query) + _site_operators(allowed_domains, blocked_domains), "format": "json"}
        )
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


def _site_operators(allowed: Iterable[str], blocked: Iterable[str]) -> str:
    """Domain filters as search operators (``site:`` / ``-site:``), which SearXNG passes to its engines."""
    hosts = hosts_of(allowed)
    wanted = (
        " (" + " OR ".join(f"site:{h}" for h in hosts) + ")" if len(hosts) > 1 else "".join(f" site:{h}" for h in hosts)
    )
    return wanted + "".join(f" -site:{h}" for h in hosts_of(blocked))


def _rows(answer: Any, *path: str) -> list[dict[str, Any]]:
    """The result rows at ``path`` in a provider's answer (none where the shape is not what it documents)."""
    for key in path:
        answer = answer.get(key) if isinstance(answer, dict) else None
    return [row for row in answer if isinstance(row, dict)] if isinstance(answer, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class Tavily(_KeyedProvider):
    async def search(
        self,
        query: str,
        *,
        max_results: int = 5,
        allowed_domains: Iterable[str] = (),
        blocked_domains: Iterable[str] = (),
        country: str | None = None,
    ) -> list[SearchResult]:
        allowed, blocked = list(allowed_domains), list(blocked_domains)
        request: dict[str, Any] = {"query": self._checked(query), "max_results": max_results}
        if allowed:
            request["include_domains"] = hosts_of(allowed)
        if blocked:
            request["exclude_domains"] = hosts_of(blocked)
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


class Brave(_KeyedProvider):
    """Brave Search API: ``GET {url}/web/search?q=…&count=…`` with the key in ``X-Subscription-Token``; domains
    only filtered after (its ``site:`` operator takes one)."""

    async def search(
        self,
        query: str,
        *,
        max_results: int = 5,
        allowed_domains: Iterable[str] = (),
        blocked_domains: Iterable[str] = (),
        country: str | None = None,
    ) -> list[SearchResult]:
        asked: dict[str, Any] = {"q": self._checked(query), "count": min(max_results * 2, 20)}
        if country:
            asked["country"] = country
        params = urlencode(asked)
        headers = {"accept": "application/json", "x-subscription-token": self._api_key}
        answer = await self._call("GET", f"{self.url}/web/search?{params}", headers)
        results = [
            SearchResult(
                url=str(row.get("url") or ""),
                title=str(row.get("title") or ""),
                text=str(row.get("description") or ""),
                page_age=_str(row.get("age")) or _str(row.get("page_age")),
            )
            for row in _rows(answer, "web", "results")
        ]
        return _kept(results, allowed_domains, blocked_domains, max_results)


class Exa(_KeyedProvider):
    """Exa: ``POST {url}/search`` with the key in ``x-api-key``, ``includeDomains`` / ``excludeDomains``, and the
    page text asked for (``contents.text``)."""

    async def search(
        self,
        query: str,
        *,
        max_results: int = 5,
        allowed_domains: Iterable[str] = (),
        blocked_domains: Iterable[str] = (),
        country: str | None = None,
    ) -> list[SearchResult]:
        allowed, blocked = list(allowed_domains), list(blocked_domains)
        request: dict[str, Any] = {
            "query": self._checked(query),
            "numResults": max_results,
            "contents": {"text": {"maxCharacters": _EXA_TEXT_CHARS}},
        }
        if country:
            request["userLocation"] = country
        if allowed:
            request["includeDomains"] = hosts_of(allowed)
        if blocked:
            request["excludeDomains"] = hosts_of(blocked)
        headers = {"x-api-key": self._api_key, "content-type": "application/json"}
        answer = await self._call("POST", f"{self.url}/search", headers, json.dumps(request).encode())
        results = [
            SearchResult(
                url=str(row.get("url") or ""),
                title=str(row.get("title") or ""),
                text=str(row.get("text") or row.get("summary") or ""),
                page_age=_str(row.get("publishedDate")),
            )
            for row in _rows(answer, "results")
        ]
        return _kept(results, allowed, blocked, max_results)


_EXA_TEXT_CHARS = 2000
# Each provider's public API, and its list price per search (USD) when OB1GW_WEB_SEARCH_PRICE_USD is unset:
# Tavily's basic search is 1 credit ($0.008 pay as you go), Brave's Search API $5 and Exa's search $5 per 1,000.
PUBLIC_API = {
    "tavily": "https://api.tavily.com",
    "brave": "https://api.search.brave.com/res/v1",
    "exa": "https://api.exa.ai",
}
LIST_PRICE_USD = {"upstream": 0.0, "searxng": 0.0, "tavily": 0.008, "brave": 0.005, "exa": 0.005}


def provider_named(name: str, url: str | None, api_key: str) -> SearchProvider:
    """The provider ``OB1GW_WEB_SEARCH`` names, at ``url`` (its public API when None)."""
    if name == "searxng":
        if not url:
            raise ValueError("SearXNG needs its URL")
        return SearXNG(url)
    keyed: dict[str, type[Tavily | Brave | Exa]] = {"tavily": Tavily, "brave": Brave, "exa": Exa}
    return keyed[name](url or PUBLIC_API[name], api_key)
