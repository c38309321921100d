"""The official anthropic SDK, unchanged, against the gateway under uvicorn and the fake OB-1."""

from __future__ import annotations

import json

import anthropic
import pytest

from tests.fakes import scripts
from tests.fixtures.gateway import GatewayHandle

MODEL = "claude-sonnet-4-5"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def client(gw: GatewayHandle, key: str | None = None) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.base_url, api_key=key or gw.key, max_retries=0, timeout=30)


def test_create_answers_and_records_usage_once(gateway: GatewayHandle, fake_ob1: object) -> None:
    message = client(gateway).messages.create(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hello gateway"}]
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: hello gateway"
    assert message.stop_reason == "end_turn"
    assert message.model == MODEL
    upstream = fake_ob1.chat_requests[-1]
    assert upstream["body"]["model"] == "anthropic/claude-sonnet-4.5"
    assert upstream["headers"]["authorization"].startswith("Bearer ")
    expected = upstream["usage"]
    assert message.usage.input_tokens == expected["prompt_tokens"]
    assert message.usage.output_tokens == expected["completion_tokens"]
    [record] = gateway.usage_records(1)
    assert (record.key_id, record.model, record.status, record.stream) == (
        gateway.key_id,
        "anthropic/claude-sonnet-4.5",
        200,
        False,
    )
    assert record.input_tokens == expected["prompt_tokens"]
    assert record.output_tokens == expected["completion_tokens"]
    assert record.cost_micros == round(expected["cost"] * 1_000_000)


def test_stream_accumulates_the_same_message(gateway: GatewayHandle, fake_ob1: object) -> None:
    with client(gateway).messages.stream(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "stream me please"}]
    ) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "Echo: stream me please"
    assert len(texts) > 1, "the fake splits text into several deltas; the gateway must not buffer them"
    assert final.content[0].text == "Echo: stream me please"
    assert final.stop_reason == "end_turn"
    expected = fake_ob1.chat_requests[-1]["usage"]
    assert final.usage.output_tokens == expected["completion_tokens"]
    [record] = gateway.usage_records(1)
    assert record.stream and record.status == 200
    assert record.output_tokens == expected["completion_tokens"]


def test_tool_round_trip(gateway: GatewayHandle, fake_ob1: object) -> None:
    c = client(gateway)
    ask = {"role": "user", "content": 'What is the weather? USE_TOOL get_weather {"city": "Paris"}'}
    first = c.messages.create(model=MODEL, max_tokens=200, tools=[WEATHER_TOOL], messages=[ask])
    assert first.stop_reason == "tool_use"
    [tool_use] = [b for b in first.content if b.type == "tool_use"]
    assert (tool_use.name, tool_use.input) == ("get_weather", {"city": "Paris"})
    upstream_tools = fake_ob1.chat_requests[-1]["body"]["tools"]
    assert upstream_tools[0]["function"]["name"] == "get_weather"

    second = c.messages.create(
        model=MODEL,
        max_tokens=200,
        tools=[WEATHER_TOOL],
        messages=[
            ask,
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny, 21C"}],
            },
        ],
    )
    assert second.content[0].text.startswith("Tool said: sunny, 21C")
    sent = fake_ob1.chat_requests[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"] == tool_use.id
    assert sent[1]["content"] is None


def test_streamed_tool_round_trip(gateway: GatewayHandle) -> None:
    c = client(gateway)
    ask = {"role": "user", "content": 'USE_TOOL get_weather {"city": "Oslo"}'}
    with c.messages.stream(model=MODEL, max_tokens=200, tools=[WEATHER_TOOL], messages=[ask]) as stream:
        final = stream.get_final_message()
    [tool_use] = [b for b in final.content if b.type == "tool_use"]
    assert tool_use.input == {"city": "Oslo"}
    assert final.stop_reason == "tool_use"


def _stream_final(gw: GatewayHandle) -> tuple[list, anthropic.types.Message]:
    with client(gw).messages.stream(
        model=MODEL,
        max_tokens=500,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "scripted"}],
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    starts = [e.index for e in events if e.type == "content_block_start"]
    assert starts == list(range(len(final.content))), "block indexes must be dense and ordered"
    return events, final


@pytest.mark.parametrize(
    ("script", "blocks", "tool_inputs", "stop_reason"),
    [
        (
            scripts.parallel_tool_calls(),
            ["text", "tool_use", "tool_use"],
            [{"city": "Paris", "unit": "celsius"}, {"timezone": "Europe/Paris"}],
            "tool_use",
        ),
        (scripts.tool_call_one_chunk(), ["tool_use"], [{"city": "Berlin"}], "tool_use"),
        (scripts.text_after_tool_call(), ["tool_use", "text"], [{"city": "Rome"}], "tool_use"),
        (scripts.reasoning(), ["thinking", "text"], [], "end_turn"),
        (scripts.keepalive_mid_stream(), ["text"], [], "end_turn"),
    ],
    ids=["parallel-tools", "tool-in-one-chunk", "text-after-tool", "reasoning", "keepalive-comments"],
)
def test_scripted_streams_arrive_whole(
    gateway: GatewayHandle,
    fake_ob1: object,
    script: list,
    blocks: list[str],
    tool_inputs: list,
    stop_reason: str,
) -> None:
    fake_ob1.enqueue(script)
    _, final = _stream_final(gateway)
    assert [b.type for b in final.content] == blocks
    assert [b.input for b in final.content if b.type == "tool_use"] == tool_inputs
    assert final.stop_reason == stop_reason
    usage_chunk = next(i for i in script if isinstance(i, dict) and i.get("usage"))["usage"]
    assert final.usage.output_tokens == usage_chunk["completion_tokens"]
    [record] = gateway.usage_records(1)
    assert record.output_tokens == usage_chunk["completion_tokens"]
    assert record.cost_micros == round(usage_chunk["cost"] * 1_000_000)


def test_reasoning_signature_is_passed_not_invented(gateway: GatewayHandle, fake_ob1: object) -> None:
    fake_ob1.enqueue(scripts.reasoning(thinking="Think hard.", answer="42"))
    _, final = _stream_final(gateway)
    thinking = final.content[0]
    assert thinking.thinking == "Think hard."
    assert thinking.signature == scripts.REASONING_SIGNATURE


def test_cache_tokens_reach_the_client_and_the_record(gateway: GatewayHandle, fake_ob1: object) -> None:
    fake_ob1.enqueue(scripts.cache_tokens(cached=1500, written=500, prompt=2100))
    _, final = _stream_final(gateway)
    assert final.usage.cache_read_input_tokens == 1500
    assert final.usage.cache_creation_input_tokens == 500
    assert final.usage.input_tokens == 100
    [record] = gateway.usage_records(1)
    assert (record.input_tokens, record.cache_read_tokens, record.cache_write_tokens) == (100, 1500, 500)


def test_error_mid_stream_becomes_an_error_event(gateway: GatewayHandle, fake_ob1: object) -> None:
    fake_ob1.enqueue(scripts.error_mid_stream(message="Provider returned error"))
    with pytest.raises(anthropic.APIStatusError) as caught:
        _stream_final(gateway)
    assert "Provider returned error" in str(caught.value)
    [record] = gateway.usage_records(1)
    assert record.status >= 500


def test_count_tokens_grows_with_content(gateway: GatewayHandle) -> None:
    c = client(gateway)
    short = c.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    long = c.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "hi " * 500}], tools=[WEATHER_TOOL]
    )
    assert 0 < short.input_tokens < long.input_tokens


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"messages": []}, anthropic.BadRequestError),
        ({"messages": [{"role": "robot", "content": "x"}]}, anthropic.BadRequestError),
        ({"model": "no-such-model-anywhere"}, anthropic.NotFoundError),
    ],
)
def test_bad_requests_get_anthropic_errors(gateway: GatewayHandle, kwargs: dict, error: type) -> None:
    args = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]} | kwargs
    with pytest.raises(error) as caught:
        client(gateway).messages.create(**args)
    body = caught.value.body
    assert body["type"] == "error" and body["error"]["message"]


def test_bad_key_and_revoked_key(gateway: GatewayHandle) -> None:
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client(gateway, key="ob1gw_000000000000_nope").messages.create(
            model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.body["error"]["type"] == "authentication_error"
    assert "ob1gw_000000000000_nope" not in json.dumps(caught.value.body)


def test_upstream_rate_limit_is_mapped(gateway: GatewayHandle, fake_ob1: object) -> None:
    # A Retry-After beyond OB1GW_RETRY_MAX_WAIT_SECONDS is not waited for: the 429 is returned at once.
    fake_ob1.enqueue(scripts.http_error(429, "slow down", headers={"Retry-After": "30"}))
    with pytest.raises(anthropic.RateLimitError) as caught:
        client(gateway).messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert caught.value.response.headers.get("retry-after") == "30"
    [record] = gateway.usage_records(1)
    assert record.status == 429
