"""The official openai SDK's Responses API (``client.responses``), unchanged, against the gateway under
uvicorn and the fake OB-1."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import scripts
from tests.fixtures.gateway import GatewayHandle

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": False,
}
TIME = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}


def client(gw: GatewayHandle) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url + "/v1", api_key=gw.key, max_retries=0, timeout=30)


def stream_final(gw: GatewayHandle, **kwargs: Any) -> tuple[list[Any], Any]:
    with client(gw).responses.stream(**kwargs) as stream:
        events = list(stream)
        final = stream.get_final_response()
    return events, final


def assert_well_ordered(events: list[Any]) -> None:
    """Dense sequence numbers; created/in_progress first; every item added, then done, one at a time."""
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [e.type for e in events[:2]] == ["response.created", "response.in_progress"]
    assert events[-1].type in ("response.completed", "response.incomplete")
    open_index = None
    for e in events[2:-1]:
        if e.type == "response.output_item.added":
            assert open_index is None
            open_index = e.output_index
        elif e.type == "response.output_item.done":
            assert e.output_index == open_index
            open_index = None
        else:
            assert e.output_index == open_index, e.type
    assert open_index is None


def test_create_text_and_usage_recorded_once(gateway: GatewayHandle, fake_ob1: Any) -> None:
    reply = client(gateway).responses.create(
        model="gpt-4o-mini", input="hi there", instructions="Be brief.", max_output_tokens=50, temperature=0.2,
        user="alice", store=False,
    )  # fmt: skip
    assert reply.output_text == "Echo: hi there"
    assert reply.id.startswith("resp_") and reply.object == "response" and reply.status == "completed"
    [message] = reply.output
    assert message.type == "message" and message.id.startswith("msg_") and message.status == "completed"
    assert reply.instructions == "Be brief." and reply.model == "gpt-4o-mini"
    upstream = fake_ob1.chat_requests[-1]
    body = upstream["body"]
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi there"}]
    assert (body["model"], body["max_tokens"], body["temperature"], body["user"]) == (
        "openai/gpt-4o-mini", 50, 0.2, "alice")  # fmt: skip
    assert body["usage"] == {"include": True} and "store" not in body
    assert reply.usage.input_tokens == upstream["usage"]["prompt_tokens"]
    assert reply.usage.output_tokens == upstream["usage"]["completion_tokens"]
    assert reply.usage.total_tokens == reply.usage.input_tokens + reply.usage.output_tokens
    [record] = gateway.usage_records(1)
    assert (record.route, record.stream, record.status, record.model) == (
        "/v1/responses", False, 200, "openai/gpt-4o-mini")  # fmt: skip
    assert record.output_tokens == upstream["usage"]["completion_tokens"]
    assert record.cost_micros == round(upstream["usage"]["cost"] * 1_000_000)


def test_function_call_round_trip(gateway: GatewayHandle, fake_ob1: Any) -> None:
    c = client(gateway)
    ask = {"role": "user", "content": 'USE_TOOL get_weather {"city": "Lima"}'}
    first = c.responses.create(model="gpt-4o-mini", input=[ask], tools=[WEATHER], tool_choice="auto")
    [call] = first.output
    assert call.type == "function_call" and call.id.startswith("fc_") and call.status == "completed"
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Lima"}
    sent = fake_ob1.chat_requests[-1]["body"]
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather",
                "parameters": WEATHER["parameters"],
                "strict": False,
            },
        }
    ]
    assert sent["tool_choice"] == "auto"

    output = {"type": "function_call_output", "call_id": call.call_id, "output": "foggy"}
    follow = c.responses.create(model="gpt-4o-mini", input=[ask, call.model_dump(), output], tools=[WEATHER])
    assert follow.output_text == "Tool said: foggy"
    messages = fake_ob1.chat_requests[-1]["body"]["messages"]
    assert messages[1]["role"] == "assistant" and messages[1]["content"] is None
    assert messages[1]["tool_calls"][0]["id"] == call.call_id
    assert messages[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "foggy"}
    assert len(gateway.usage_records(2)) == 2


def test_stream_text_final_response(gateway: GatewayHandle, fake_ob1: Any) -> None:
    events, final = stream_final(gateway, model="claude-sonnet-4-5", input="count to three")
    assert_well_ordered(events)
    assert final.output_text == "Echo: count to three" and final.status == "completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "Echo: count to three"
    types = [e.type for e in events]
    assert types[2:4] == ["response.output_item.added", "response.content_part.added"]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    upstream = fake_ob1.chat_requests[-1]
    assert upstream["body"]["stream"] is True and upstream["body"]["stream_options"] == {"include_usage": True}
    assert final.usage.output_tokens == upstream["usage"]["completion_tokens"]
    [record] = gateway.usage_records(1)
    assert record.stream and record.status == 200 and record.output_tokens == upstream["usage"]["completion_tokens"]


def test_stream_function_call_round_trip(gateway: GatewayHandle) -> None:
    ask = {"role": "user", "content": 'USE_TOOL get_weather {"city": "Oslo"}'}
    events, final = stream_final(gateway, model="gpt-4o-mini", input=[ask], tools=[WEATHER, TIME])
    assert_well_ordered(events)
    [call] = final.output
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Oslo"}
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert [json.loads(e.arguments) for e in done] == [{"city": "Oslo"}]
    output = {"type": "function_call_output", "call_id": call.call_id, "output": "snow"}
    _, follow = stream_final(gateway, model="gpt-4o-mini", input=[ask, call.model_dump(), output], tools=[WEATHER])
    assert follow.output_text == "Tool said: snow"


def test_parallel_tool_calls_stay_separate(gateway: GatewayHandle, fake_ob1: Any) -> None:
    fake_ob1.enqueue(scripts.parallel_tool_calls())
    events, final = stream_final(
        gateway, model="claude-sonnet-4-5", input="both", tools=[WEATHER, TIME], parallel_tool_calls=True
    )
    assert_well_ordered(events)
    assert [item.type for item in final.output] == ["message", "function_call", "function_call"]
    assert final.output_text == "Checking both."
    calls = {c.call_id: (c.name, json.loads(c.arguments)) for c in final.output[1:]}
    assert calls == {
        "toolu_fake_A": ("get_weather", {"city": "Paris", "unit": "celsius"}),
        "toolu_fake_B": ("get_time", {"timezone": "Europe/Paris"}),
    }
    assert fake_ob1.chat_requests[-1]["body"]["parallel_tool_calls"] is True
    [record] = gateway.usage_records(1)
    assert (record.input_tokens, record.output_tokens, record.cost_micros) == (50, 40, 750)


def test_reasoning_stream_summary_and_replay(gateway: GatewayHandle, fake_ob1: Any) -> None:
    fake_ob1.enqueue(scripts.reasoning())
    events, final = stream_final(
        gateway, model="claude-sonnet-4-5", input="think", reasoning={"effort": "high", "summary": "auto"},
        include=["reasoning.encrypted_content"], store=False,
    )  # fmt: skip
    assert_well_ordered(events)
    assert fake_ob1.chat_requests[-1]["body"]["reasoning"] == {"effort": "high"}
    types = [e.type for e in events]
    for kind in ("part.added", "text.delta", "text.done", "part.done"):
        assert any(t.startswith("response.reasoning_summary_") and t.endswith(kind) for t in types), kind
    reasoning, message = final.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "Let me think about this step by step."
    assert final.output_text == "The answer is 42."
    assert final.usage.input_tokens == 30 and final.usage.output_tokens == 25

    replay = [{"role": "user", "content": "think"}, reasoning.model_dump(exclude_none=True), message.model_dump(),
              {"role": "user", "content": "again"}]  # fmt: skip
    client(gateway).responses.create(model="claude-sonnet-4-5", input=replay)
    assistant = fake_ob1.chat_requests[-1]["body"]["messages"][1]
    assert assistant["content"] == "The answer is 42."
    [detail] = assistant["reasoning_details"]
    assert detail["signature"] == scripts.REASONING_SIGNATURE and detail["text"].startswith("Let me think")


def test_cached_tokens_reported_and_recorded(gateway: GatewayHandle, fake_ob1: Any) -> None:
    fake_ob1.enqueue(scripts.cache_tokens())
    _, final = stream_final(gateway, model="claude-sonnet-4-5", input="cached")
    assert final.usage.input_tokens == 2100 and final.usage.input_tokens_details.cached_tokens == 1500
    [record] = gateway.usage_records(1)
    assert (record.cache_read_tokens, record.cache_write_tokens, record.cost_micros) == (1500, 500, 2000)


@pytest.mark.parametrize("stream", [False, True])
def test_max_output_tokens_gives_incomplete(gateway: GatewayHandle, fake_ob1: Any, stream: bool) -> None:
    if stream:
        fake_ob1.enqueue(scripts.text_stream("cut sho", finish_reason="length", native_finish_reason="max_tokens"))
        with client(gateway).responses.create(model="gpt-4o-mini", input="x", max_output_tokens=3, stream=True) as s:
            events = list(s)
        assert events[-1].type == "response.incomplete"
        reply = events[-1].response
    else:
        fake_ob1.enqueue(scripts.completion("cut sho", finish_reason="length"))
        reply = client(gateway).responses.create(model="gpt-4o-mini", input="x", max_output_tokens=3)
    assert reply.status == "incomplete" and reply.incomplete_details.reason == "max_output_tokens"
    assert reply.output[0].content[0].text == "cut sho"


@pytest.mark.parametrize(
    ("input_", "param"),
    [
        ([], "input"),
        ([{"role": "robot", "content": "x"}], "input[0].role"),
        ([{"type": "function_call_output", "output": "x"}], "input[0].call_id"),
    ],
)
def test_invalid_input_is_400_with_param(gateway: GatewayHandle, input_: Any, param: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(gateway).responses.create(model="gpt-4o-mini", input=input_)
    assert caught.value.body["param"] == param


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_error_before_first_byte_keeps_its_status(gateway: GatewayHandle, fake_ob1: Any, stream: bool) -> None:
    attempts = getattr(gateway.settings, "max_retries", 0) + 1  # 429 may be retried before it reaches us
    fake_ob1.enqueue(*[scripts.http_error(429, "slow down")] * attempts)
    with pytest.raises(openai.RateLimitError) as caught:
        client(gateway).responses.create(model="gpt-4o-mini", input="x", stream=stream)
    assert caught.value.status_code == 429 and "slow down" in caught.value.message
    assert caught.value.body["type"] == "rate_limit_error"
    [record] = gateway.usage_records(1)
    assert record.status == 429


def test_mid_stream_failure_is_response_failed(gateway: GatewayHandle, fake_ob1: Any) -> None:
    fake_ob1.enqueue(scripts.error_mid_stream(message="Provider returned error"))
    with client(gateway).responses.stream(model="gpt-4o-mini", input="x") as stream:
        events = list(stream)
        with pytest.raises(RuntimeError):
            stream.get_final_response()
    last = events[-1]
    assert last.type == "response.failed" and last.response.status == "failed"
    assert "Provider returned error" in last.response.error.message
    assert last.response.output[0].content[0].text == "partial"
    [record] = gateway.usage_records(1)
    assert record.status == 502


def test_sse_frames_name_their_event(gateway: GatewayHandle) -> None:
    headers = {"Authorization": f"Bearer {gateway.key}"}
    body = {"model": "gpt-4o-mini", "input": "frames", "stream": True}
    with httpx.stream("POST", gateway.base_url + "/v1/responses", json=body, headers=headers, timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    frames = [f for f in raw.split("\n\n") if f.strip()]
    for frame in frames:
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        assert json.loads(data_line[6:])["type"] == event_line[7:]


def test_client_disconnect_records_usage(gateway: GatewayHandle, fake_ob1: Any) -> None:
    fake_ob1.enqueue(scripts.keepalive_mid_stream(pause=0.5))
    headers = {"Authorization": f"Bearer {gateway.key}"}
    body = {"model": "claude-sonnet-4-5", "input": "slow", "stream": True}
    with httpx.stream("POST", gateway.base_url + "/v1/responses", json=body, headers=headers, timeout=30) as r:
        next(r.iter_lines())
    [record] = gateway.usage_records(1)
    assert record.status == 499 and record.route == "/v1/responses"
