"""``OB1GW_WEB_SEARCH=upstream`` (issue 30): the search is asked of the upstream as OpenRouter's web plugin, and its
``url_citation`` annotations become each API's citations, stream and not. What OB-1 itself does with the plugin
could not be verified here (docs/web-search.md): the fake OB-1 answers as OpenRouter documents it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from ob1_gateway.access.keys import issue_key
from ob1_gateway.stores.base import KeyPolicy

from tests.fixtures.gateway import GatewayHandle, gateway_on

SEARCH = {"type": "web_search_20250305", "name": "web_search"}
ASK = [{"role": "user", "content": "what is new in python"}]


@pytest.fixture
def upstream_gateway(tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    with gateway_on(tmp_path / "home", fake_ob1, web_search="upstream", web_search_max_results=2) as gw:
        yield gw


def test_anthropic_gets_the_upstream_s_citations_stream_and_not(upstream_gateway: GatewayHandle, fake_ob1: Any) -> None:
    client = anthropic.Anthropic(base_url=upstream_gateway.base_url, api_key=upstream_gateway.key, max_retries=0)
    whole = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=ASK, tools=[SEARCH])  # type: ignore[arg-type,list-item]
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=ASK, tools=[SEARCH]) as stream:  # type: ignore[arg-type,list-item]
        streamed = stream.get_final_message()
    for message in (whole, streamed):
        [text] = message.content
        assert text.type == "text" and text.text.endswith("See source 1. See source 2.")
        assert [(c.url, c.cited_text) for c in text.citations or []] == [  # type: ignore[union-attr]
            ("https://web.example.com/page-1", "What page 1 says."),
            ("https://web.example.com/page-2", "What page 2 says."),
        ]
    for request in fake_ob1.chat_requests:
        assert request["body"]["plugins"] == [{"id": "web", "max_results": 2}]
        assert "tools" not in request["body"]  # no gateway function: the upstream searches
    records = upstream_gateway.usage_records(2)
    assert [r.web_searches for r in records] == [1, 1] and all(r.status == 200 for r in records)


def test_a_key_past_its_daily_searches_is_told_so(upstream_gateway: GatewayHandle, fake_ob1: Any) -> None:
    record, key = issue_key("daily", policy=KeyPolicy(searches_per_day=1))
    upstream_gateway.backends.key_store.put(record)
    client = anthropic.Anthropic(base_url=upstream_gateway.base_url, api_key=key, max_retries=0)
    client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=ASK, tools=[SEARCH])  # type: ignore[arg-type,list-item]
    with pytest.raises(anthropic.RateLimitError) as refused:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=ASK, tools=[SEARCH])  # type: ignore[arg-type,list-item]
    assert "1 web searches for today" in refused.value.message
    assert len(fake_ob1.chat_requests) == 1
    plain = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=ASK)  # type: ignore[arg-type]
    assert plain.content[0].type == "text"  # without search the key still works


def test_responses_and_chat_get_url_citations(upstream_gateway: GatewayHandle, fake_ob1: Any) -> None:
    client = openai.OpenAI(base_url=f"{upstream_gateway.base_url}/v1", api_key=upstream_gateway.key, max_retries=0)
    response = client.responses.create(model="openai/gpt-4o-mini", input="what is new", tools=[{"type": "web_search"}])
    [message] = response.output
    text = message.content[0]  # type: ignore[union-attr]
    assert [a.url for a in text.annotations] == ["https://web.example.com/page-1", "https://web.example.com/page-2"]  # type: ignore[union-attr]
    first = text.annotations[0]  # type: ignore[union-attr]
    assert text.text[first.start_index : first.end_index] == "See source 1."  # type: ignore[union-attr]
    chat = client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "what is new"}], web_search_options={}
    )
    cited = [a.url_citation.url for a in chat.choices[0].message.annotations or []]
    assert cited == ["https://web.example.com/page-1", "https://web.example.com/page-2"]
    assert "web_search_options" not in fake_ob1.chat_requests[-1]["body"]


def test_domain_filters_are_refused_by_name_with_the_upstream_s_search(
    upstream_gateway: GatewayHandle, fake_ob1: Any
) -> None:
    client = anthropic.Anthropic(base_url=upstream_gateway.base_url, api_key=upstream_gateway.key, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=ASK,  # type: ignore[arg-type]
            tools=[{**SEARCH, "allowed_domains": ["python.org"]}],  # type: ignore[list-item]
        )  # fmt: skip
    assert "allowed_domains" in refused.value.message and fake_ob1.chat_requests == []
