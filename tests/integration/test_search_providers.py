"""The search providers against fakes that answer as each provider's API does (requests recorded): results mapped,
domains sent where the provider takes them and always applied to what comes back, failures as the web search
tool's error codes."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from ob1_gateway.websearch.search_providers import Brave, Exa, SearchFailed, SearchResult, SearXNG, Tavily

ROWS = [
    {"url": "https://docs.python.org/3/whatsnew/3.13.html", "title": "What's New 3.13", "content": "free-threaded"},
    {"url": "https://blog.example.com/py313", "title": "A blog", "content": "opinions", "publishedDate": "2024-10-07"},
    {"url": "javascript:alert(1)", "title": "not a page", "content": "x"},
    {"url": "https://evil.test/phish", "title": "Phish", "content": "y"},
]


class _Fake:
    """A provider's API on 127.0.0.1: answers ``answer`` (status, body) and records each request."""

    def __init__(self, status: int, body: Any) -> None:
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                fake.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": raw}
                )
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[_Fake]:
    status, body = getattr(request, "param", (200, {"results": ROWS}))
    server = _Fake(status, body)
    yield server
    server.server.shutdown()


def search(make: Any, query: str = "python 3.13", **kwargs: Any) -> list[SearchResult]:
    """A search with a provider ``make()`` builds (inside the loop: its transport belongs to the loop)."""

    async def run() -> list[SearchResult]:
        provider = make()
        try:
            return list(await provider.search(query, **kwargs))
        finally:
            await provider.aclose()

    return asyncio.run(run())


def test_searxng_asks_for_json_and_maps_its_results(fake: _Fake) -> None:
    results = search(lambda: SearXNG(fake.url), max_results=5)
    [asked] = fake.requests
    assert asked["method"] == "GET" and urlsplit(asked["path"]).path == "/search"
    assert parse_qs(urlsplit(asked["path"]).query) == {"q": ["python 3.13"], "format": ["json"]}
    assert [r.url for r in results] == [ROWS[0]["url"], ROWS[1]["url"], ROWS[3]["url"]]  # no javascript: URL
    assert results[1] == SearchResult(ROWS[1]["url"], "A blog", "opinions", "2024-10-07")


def test_domains_are_always_applied_to_what_comes_back(fake: _Fake) -> None:
    allowed = search(lambda: SearXNG(fake.url), allowed_domains=["python.org", "example.com"])
    assert [r.url for r in allowed] == [ROWS[0]["url"], ROWS[1]["url"]]  # subdomains match, evil.test does not
    blocked = search(lambda: SearXNG(fake.url), blocked_domains=["example.com"], max_results=1)
    assert [r.url for r in blocked] == [ROWS[0]["url"]]
    asked = [parse_qs(urlsplit(r["path"]).query)["q"][0] for r in fake.requests]
    assert asked == ["python 3.13 (site:python.org OR site:example.com)", "python 3.13 -site:example.com"]


def test_tavily_sends_the_key_as_a_bearer_and_the_domains(fake: _Fake) -> None:
    results = search(lambda: Tavily(fake.url, "tvly-secret"), max_results=3, allowed_domains=["python.org"])
    [asked] = fake.requests
    assert asked["method"] == "POST" and asked["path"] == "/search"
    assert asked["headers"]["authorization"] == "Bearer tvly-secret"
    assert json.loads(asked["body"]) == {"query": "python 3.13", "max_results": 3, "include_domains": ["python.org"]}
    assert [r.url for r in results] == [ROWS[0]["url"]]


BRAVE = {"web": {"results": [{"url": r["url"], "title": r["title"], "description": r["content"]} for r in ROWS]}}
EXA = {
    "results": [
        {"url": r["url"], "title": r["title"], "text": r["content"], "publishedDate": "2026-01-02"} for r in ROWS
    ]
}


@pytest.mark.parametrize("fake", [(200, BRAVE)], indirect=True)
def test_brave_sends_its_key_header_and_the_country(fake: _Fake) -> None:
    results = search(
        lambda: Brave(fake.url, "brave-secret"), max_results=2, country="GB", blocked_domains=["python.org"]
    )
    [asked] = fake.requests
    assert asked["method"] == "GET" and urlsplit(asked["path"]).path == "/web/search"
    assert asked["headers"]["x-subscription-token"] == "brave-secret"
    assert parse_qs(urlsplit(asked["path"]).query) == {"q": ["python 3.13"], "count": ["4"], "country": ["GB"]}
    assert [r.url for r in results] == [ROWS[1]["url"], ROWS[3]["url"]]  # blocked filtered after, 2 kept
    assert results[0].text == "opinions"


@pytest.mark.parametrize("fake", [(200, EXA)], indirect=True)
def test_exa_sends_its_key_the_domains_and_the_country(fake: _Fake) -> None:
    results = search(lambda: Exa(fake.url, "exa-secret"), max_results=5, allowed_domains=["example.com"], country="DE")
    [asked] = fake.requests
    assert asked["method"] == "POST" and asked["path"] == "/search" and asked["headers"]["x-api-key"] == "exa-secret"
    sent = json.loads(asked["body"])
    assert sent["includeDomains"] == ["example.com"]
    assert sent["userLocation"] == "DE" and sent["numResults"] == 5 and sent["contents"]["text"]
    assert [(r.url, r.page_age) for r in results] == [(ROWS[1]["url"], "2026-01-02")]


@pytest.mark.parametrize(
    ("fake", "code"),
    [
        ((429, {"error": "slow down"}), "too_many_requests"),
        ((503, {}), "unavailable"),
        ((200, b"<html>"), "unavailable"),
    ],
    indirect=["fake"],
)
def test_provider_failures_are_the_tools_error_codes(fake: _Fake, code: str) -> None:
    with pytest.raises(SearchFailed) as failed:
        search(lambda: SearXNG(fake.url))
    assert failed.value.code == code


def test_a_long_query_is_refused_before_any_call(fake: _Fake) -> None:
    with pytest.raises(SearchFailed) as failed:
        search(lambda: SearXNG(fake.url), query="x" * 401)
    assert failed.value.code == "query_too_long" and fake.requests == []


def test_an_unreachable_provider_is_unavailable() -> None:
    with pytest.raises(SearchFailed) as failed:
        search(lambda: SearXNG("http://127.0.0.1:9"))
    assert failed.value.code == "unavailable"
