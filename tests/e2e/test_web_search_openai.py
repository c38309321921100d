"""The openai SDK's web search through a gateway that runs it (issue 30). Responses ``web_search``: ``web_search_call``
items and ``url_citation`` annotations, stream (with the ``response.web_search_call.*`` events) and not, parsed by the
SDK's own models; Codex's way (the tool offered on every request, store false, the items sent back). Chat
completions ``web_search_options``: the answer's ``annotations``, stream and not."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai.types.responses import Response

from tests.fakes.search_fake import FakeSearch
from tests.fixtures.gateway import GatewayHandle

MODEL = "openai/gpt-4o-mini"
ASK = "Search the web for python 3.13 release notes"


def client(gw: GatewayHandle) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw.base_url}/v1", api_key=gw.key, max_retries=0, timeout=30)


def _check(response: Response, fake_search: FakeSearch, *, sources: bool) -> None:
    kinds = [item.type for item in response.output]
    assert kinds == ["web_search_call", "message"], kinds
    call, message = response.output
    assert call.type == "web_search_call" and call.status == "completed" and call.id.startswith("ws_")
    assert call.action.type == "search" and call.action.query == "python 3.13 release notes"
    if sources:
        urls = [s.url for s in call.action.sources or []]
        assert len(urls) == 4 and urls[0] == "https://docs.example.org/python-3-13-release-notes/1"
    else:
        assert call.action.sources is None
    assert message.type == "message"
    text = message.content[0]
    assert text.type == "output_text" and "Fact 1 about python 3.13 release notes." in text.text
    [first, *_] = text.annotations
    assert first.type == "url_citation" and first.url.endswith("/python-3-13-release-notes/1")
    assert text.text[first.start_index : first.end_index] == "[1]"
    assert fake_search.queries == ["python 3.13 release notes"]


@pytest.mark.parametrize("sources", [False, True])
def test_web_search_answers_with_a_web_search_call_and_citations(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch, sources: bool
) -> None:
    include = ["web_search_call.action.sources"] if sources else []
    response = client(web_gateway).responses.create(
        model=MODEL,
        input=ASK,
        tools=[{"type": "web_search"}],
        include=include,  # type: ignore[list-item]
    )
    _check(response, fake_search, sources=sources)
    [record] = web_gateway.usage_records(1)
    assert record.web_searches == 1 and record.route == "/v1/responses"
    stored = client(web_gateway).responses.retrieve(response.id)
    assert [item.type for item in stored.output] == ["web_search_call", "message"]


def test_the_stream_announces_the_search_and_the_annotations(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    with client(web_gateway).responses.stream(model=MODEL, input=ASK, tools=[{"type": "web_search"}]) as stream:
        events = [event.type for event in stream]
        response = stream.get_final_response()
    _check(response, fake_search, sources=False)
    searching = [e for e in events if e.startswith("response.web_search_call.")]
    assert searching == [
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
    ]
    assert "response.output_text.annotation.added" in events
    assert events.index("response.web_search_call.completed") < events.index("response.output_text.delta")


def test_codex_s_way_offers_it_on_every_turn_and_sends_the_items_back(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    tools = [
        {"type": "web_search", "external_web_access": True},
        {"type": "function", "name": "shell", "parameters": {}},
    ]
    plain = client(web_gateway).responses.create(model=MODEL, input="hello", tools=tools, store=False)  # type: ignore[arg-type]
    assert [item.type for item in plain.output] == ["message"] and fake_search.requests == []
    assert len(fake_ob1.chat_requests) == 1  # no search asked: one round
    first = client(web_gateway).responses.create(model=MODEL, input=ASK, tools=tools, store=False)  # type: ignore[arg-type]
    history = [{"role": "user", "content": ASK}, *[item.model_dump(exclude_none=True) for item in first.output]]
    client(web_gateway).responses.create(
        model=MODEL,
        input=[*history, {"role": "user", "content": "thanks"}],
        tools=tools,
        store=False,  # type: ignore[arg-type]
    )
    sent = fake_ob1.chat_requests[-1]["body"]["messages"]
    said = [m["content"] for m in sent if m["role"] == "assistant"]
    assert said and said[0].startswith('[web_search: "python 3.13 release notes"]')


def test_allowed_domains_filter_the_results(web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch) -> None:
    tool = {"type": "web_search", "filters": {"allowed_domains": ["blocked.example.net"]}}
    response = client(web_gateway).responses.create(
        model=MODEL,
        input=ASK,
        tools=[tool],
        include=["web_search_call.action.sources"],  # type: ignore[list-item]
    )
    call = response.output[0]
    assert call.type == "web_search_call"
    assert [s.url.split("/")[2] for s in call.action.sources or []] == ["blocked.example.net"]  # type: ignore[union-attr]


def test_with_web_search_off_codex_s_tool_is_still_omitted(gateway: GatewayHandle, fake_ob1: Any) -> None:
    raw = client(gateway).responses.with_raw_response.create(model=MODEL, input=ASK, tools=[{"type": "web_search"}])
    assert raw.headers["x-ob1gw-omitted-tools"] == "web_search"
    assert "tools" not in fake_ob1.chat_requests[-1]["body"]


def test_chat_web_search_options_answer_with_annotations(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    location = {"type": "approximate", "approximate": {"country": "GB", "city": "London"}}
    completion = client(web_gateway).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": ASK}], web_search_options={"user_location": location}
    )
    message = completion.choices[0].message
    assert "Fact 1 about python 3.13 release notes." in (message.content or "")
    [first, *_] = message.annotations or []
    assert first.type == "url_citation" and first.url_citation.url.endswith("/python-3-13-release-notes/1")
    assert (message.content or "")[first.url_citation.start_index : first.url_citation.end_index] == "[1]"
    assert completion.model == MODEL and fake_search.queries == ["python 3.13 release notes"]
    assert all("web_search_options" not in r["body"] for r in fake_ob1.chat_requests)
    [record] = web_gateway.usage_records(1)
    assert record.web_searches == 1 and record.route == "/v1/chat/completions"


def test_chat_stream_carries_the_annotations_before_it_finishes(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    chunks = list(
        client(web_gateway).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": ASK}], web_search_options={}, stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    noted = [c for c in chunks if c.choices and getattr(c.choices[0].delta, "annotations", None)]
    assert len(noted) == 1 and "Fact 1" in text
    annotation = noted[0].choices[0].delta.annotations[0]  # type: ignore[attr-defined]
    assert text[annotation["url_citation"]["start_index"] : annotation["url_citation"]["end_index"]] == "[1]"
    finish = next(i for i, c in enumerate(chunks) if c.choices and c.choices[0].finish_reason)
    assert chunks.index(noted[0]) == finish - 1


def test_chat_web_search_options_stay_the_admin_s_when_the_gateway_runs_no_search(
    gateway: GatewayHandle, fake_ob1: Any
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(gateway).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": ASK}], web_search_options={}
        )
    assert "web_search_options" in caught.value.message and fake_ob1.chat_requests == []
