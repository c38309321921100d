"""Claude Code's WebSearch tool end to end through a gateway that runs web search (issue 30): the model loads
WebSearch (a deferred tool) and calls it, Claude Code sends its own web-search request (``web_search_20250305``), the
gateway runs the search on the fake SearXNG, and the final answer carries the fake's results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.test_claude_code import plan, project, pytestmark, run_claude  # noqa: F401
from tests.fakes.search_fake import FakeSearch
from tests.fixtures.gateway import GatewayHandle

QUERY = "python 3.13 release notes"


def test_web_search_runs_through_the_gateway(
    web_gateway: GatewayHandle,
    fake_ob1: Any,
    fake_search: FakeSearch,
    project: Path,  # noqa: F811
) -> None:
    steps = plan(("ToolSearch", {"query": "select:WebSearch", "max_results": 5}), ("WebSearch", {"query": QUERY}))
    result = run_claude(web_gateway, project, steps)
    assert "https://docs.example.org/python-3-13-release-notes/1" in result.stdout
    assert fake_search.queries == [QUERY]
    bodies = [r["body"] for r in fake_ob1.chat_requests]
    searching = [b for b in bodies if [t["function"]["name"] for t in b.get("tools") or []] == ["web_search"]]
    assert len(searching) == 2, "Claude Code's own web-search request took two rounds upstream"
    assert "Perform a web search for the query: " + QUERY in json.dumps(searching[0]["messages"])
    main = bodies[-1]["messages"]
    [answer] = [m for m in main if m["role"] == "tool" and "Web search results for query" in json.dumps(m["content"])]
    assert "Fact 1 about " + QUERY in json.dumps(answer["content"]), "the search's text reached the main loop"
    records = web_gateway.usage_records(len(bodies) - 1)
    assert len(records) == len(bodies) - 1, "the two search rounds are one request, one record"
    assert sorted(r.web_searches for r in records) == [0] * (len(records) - 1) + [1]
