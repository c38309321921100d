"""``python -m bench.web_search``: what one web search round adds to a request, gateway work only.

A request offering ``web_search`` whose model searches once takes two upstream rounds and one provider call; the
same request without search takes one round. Over the fakes (the fake OB-1 and the fake SearXNG on 127.0.0.1, both
answering at once), the difference, less the second round's own upstream time and the provider call's own time
(each timed alone, direct), is the gateway's work for the round: translating the call, filtering the stream,
running the tool, building the blocks and summing the rounds. Runs interleaved, in one process, so the ratios hold on
a noisy machine. Also prints what each provider's list price makes 1,000 searches cost."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from ob1_gateway.app import create_app
from ob1_gateway.stores.backends import build_backends
from ob1_gateway.websearch.search_providers import LIST_PRICE_USD

from bench.stats import markdown_table
from tests.fakes.ob1_fake import FakeOB1Server
from tests.fakes.search_fake import FakeSearch
from tests.fixtures.gateway import UvicornThread, gateway_settings, seed_login_and_key

MODEL = "claude-sonnet-4-5"
SEARCH = [{"type": "web_search_20250305", "name": "web_search"}]


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind (interleaved)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home, FakeOB1Server() as fake:
        search = FakeSearch().start()
        settings = gateway_settings(Path(home), fake, web_search="searxng", web_search_url=search.url)
        backends = build_backends(settings)
        _, key = seed_login_and_key(backends, fake, "bench")
        with UvicornThread(create_app(settings, backends)) as server, httpx.Client(timeout=30) as client:
            base = f"http://127.0.0.1:{server.port}"
            headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}

            def message(prompt: str, tools: list[dict[str, Any]] | None, stream: bool) -> float:
                body: dict[str, Any] = {"model": MODEL, "max_tokens": 256, "stream": stream}
                body["messages"] = [{"role": "user", "content": prompt}]
                if tools:
                    body["tools"] = tools
                started = time.perf_counter()
                answer = client.post(f"{base}/v1/messages", headers=headers, json=body)
                answer.read()
                assert answer.status_code == 200, answer.text
                return time.perf_counter() - started

            upstream_body = {"model": "anthropic/claude-sonnet-4.5", "max_tokens": 64}
            upstream_body["messages"] = [{"role": "user", "content": "hi"}]
            login = backends.token_store.load()
            assert login is not None
            auth = {"authorization": login.authorization()}

            def upstream_round() -> float:
                started = time.perf_counter()
                client.post(f"{fake.upstream_url}/chat/completions", json=upstream_body, headers=auth).read()
                return time.perf_counter() - started

            def provider_call() -> float:
                started = time.perf_counter()
                client.get(f"{search.url}/search", params={"q": "python", "format": "json"}).read()
                return time.perf_counter() - started

            rows = []
            for stream in (False, True):
                plain, searched, rounds, calls = [], [], [], []
                for _ in range(10):  # warm up
                    message("hello", None, stream)
                    message("Search the web for python", SEARCH, stream)
                for _ in range(args.requests):
                    plain.append(message("hello", None, stream))
                    searched.append(message("Search the web for python", SEARCH, stream))
                    rounds.append(upstream_round())
                    calls.append(provider_call())
                added = _median_ms(searched) - _median_ms(plain)
                own = added - _median_ms(rounds) - _median_ms(calls)
                rows.append(
                    [
                        "stream" if stream else "whole",
                        _median_ms(plain),
                        _median_ms(searched),
                        round(added, 2),
                        _median_ms(rounds),
                        _median_ms(calls),
                        round(own, 2),
                    ]
                )
        search.stop()
    headers_row = [
        "request",
        "plain ms (p50)",
        "with one search ms (p50)",
        "added ms",
        "of which: one more upstream round",
        "the provider call",
        "gateway's own work",
    ]
    print(markdown_table(headers_row, rows))
    print()
    prices = [[name, price, round(price * 1000, 2)] for name, price in LIST_PRICE_USD.items()]
    print(markdown_table(["provider", "USD per search (list)", "USD per 1,000 searches"], prices))


if __name__ == "__main__":
    main()
