"""A fake of the web search providers' APIs on 127.0.0.1, answering as each documents it (SearXNG ``GET /search``,
Tavily ``POST /search`` with a bearer key, Brave ``GET /web/search``, Exa ``POST /search`` with ``x-api-key``),
with results made from the query, and every request recorded. ``python -m tests.fakes.search_fake --port P`` runs
it on its own.

Results for a query q: three pages on ``docs.example.org`` and one on ``blocked.example.net``, titled
``<q> — result <n>``, whose text is ``Fact <n> about <q>.``.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def pages(query: str) -> list[dict[str, str]]:
    slug = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")[:40] or "q"
    hosts = ["docs.example.org", "docs.example.org", "blocked.example.net", "docs.example.org"]
    return [
        {
            "url": f"https://{host}/{slug}/{n}",
            "title": f"{query} — result {n}",
            "text": f"Fact {n} about {query}.",
            "date": f"2026-11-0{n}",
        }
        for n, host in enumerate(hosts, 1)
    ]


def _operators(q: str) -> tuple[str, set[str], set[str]]:
    """The query without its ``site:`` / ``-site:`` operators, and the hosts they name (wanted, excluded)."""
    only = set(re.findall(r"(?<![-\w])site:(\S+?)\)?(?=\s|$)", q))
    never = set(re.findall(r"-site:(\S+)", q))
    clean = re.sub(r"\(?-?site:\S+\)?|\bOR\b", " ", q)
    return " ".join(clean.split()), only, never


def _host(page: dict[str, str]) -> str:
    return urlsplit(page["url"]).hostname or ""


def _query_of(method: str, query: dict[str, list[str]], raw: bytes) -> str:
    if method == "GET":
        return query.get("q", [""])[0]
    try:
        return str(json.loads(raw or b"{}").get("query", ""))
    except ValueError:
        return ""


class FakeSearch:
    """The fake; ``status`` (default 200) is what every search answers, for failure tests."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                record = {"method": self.command, "path": parts.path, "headers": dict(self.headers), "body": raw}
                record["query"] = _query_of(self.command, parse_qs(parts.query), raw)
                fake.requests.append(record)
                status, body = fake.answer(self.command, parts.path, parse_qs(parts.query), self.headers, raw)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"

    def answer(self, method: str, path: str, query: dict[str, list[str]], headers: Any, raw: bytes) -> tuple[int, Any]:
        if self.status != 200:
            return self.status, {"error": "fake failure"}
        if method == "GET" and path == "/search":  # SearXNG, whose engines honour site: / -site: operators
            q, only, never = _operators(query.get("q", [""])[0])
            found = [p for p in pages(q) if (not only or _host(p) in only) and _host(p) not in never]
            rows = [
                {"url": p["url"], "title": p["title"], "content": p["text"], "publishedDate": p["date"]} for p in found
            ]
            return 200, {"query": q, "results": rows}
        if method == "GET" and path == "/web/search":  # Brave
            if not headers.get("x-subscription-token"):
                return 401, {"error": "no key"}
            q = query.get("q", [""])[0]
            rows = [
                {"url": p["url"], "title": p["title"], "description": p["text"], "age": p["date"]} for p in pages(q)
            ]
            return 200, {"web": {"results": rows}}
        if method == "POST" and path == "/search":
            body = json.loads(raw or b"{}")
            if headers.get("x-api-key"):  # Exa
                rows = [{"url": p["url"], "title": p["title"], "text": p["text"]} for p in pages(body.get("query", ""))]
                return 200, {"results": rows}
            if not str(headers.get("authorization", "")).startswith("Bearer "):  # Tavily
                return 401, {"error": "no key"}
            rows = [{"url": p["url"], "title": p["title"], "content": p["text"]} for p in pages(body.get("query", ""))]
            return 200, {"results": rows}
        return 404, {"error": "not found"}

    @property
    def queries(self) -> list[str]:
        """The queries asked so far, whichever API asked them."""
        return [request["query"] for request in self.requests]

    def start(self) -> FakeSearch:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8089)
    args = parser.parse_args()
    fake = FakeSearch(args.port)
    print(f"fake search providers on {fake.url}", flush=True)
    fake.server.serve_forever()


if __name__ == "__main__":
    main()
