"""The official openai SDK, unchanged, against the gateway under uvicorn and the fake OB-1."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.fakes import scripts
from tests.fixtures.gateway import GatewayHandle

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def client(gw: GatewayHandle, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key or gw.key, max_retries=0, timeout=30)


def test_models_list(gateway: GatewayHandle) -> None:
    ids = [m.id for m in client(gateway).models.list()]
    assert "anthropic/claude-sonnet-4.5" in ids and "openai/gpt-4o-mini" in ids
    assert client(gateway).models.retrieve("claude-sonnet-4-5").id == "anthropic/claude-sonnet-4.5"


def test_create_resolves_model_and_records_usage(gateway: GatewayHandle, fake_ob1: object) -> None:
    reply = client(gateway).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi there"}]
    )
    assert reply.choices[0].message.content == "Echo: hi there"
    upstream = fake_ob1.chat_requests[-1]
    assert upstream["body"]["model"] == "openai/gpt-4o-mini"
    assert upstream["body"]["usage"] == {"include": True}
    assert reply.usage.prompt_tokens == upstream["usage"]["prompt_tokens"]
    [record] = gateway.usage_records(1)
    assert (record.model, record.route, record.stream) == (
        "openai/gpt-4o-mini",
        "/v1/chat/completions",
        False,
    )
    assert record.output_tokens == upstream["usage"]["completion_tokens"]
    assert record.cost_micros == round(upstream["usage"]["cost"] * 1_000_000)


@pytest.mark.parametrize("include_usage", [True, False])
def test_stream_forwards_usage_chunk_only_when_asked(
    gateway: GatewayHandle, fake_ob1: object, include_usage: bool
) -> None:
    kwargs = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(
        client(gateway).chat.completions.create(
            model="anthropic/claude-sonnet-4.5",
            messages=[{"role": "user", "content": "count to three"}],
            stream=True,
            **kwargs,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: count to three"
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert bool(usage_chunks) is include_usage
    upstream = fake_ob1.chat_requests[-1]
    assert upstream["body"]["stream_options"] == {"include_usage": True}
    if include_usage:
        assert usage_chunks[-1].usage.completion_tokens == upstream["usage"]["completion_tokens"]
    [record] = gateway.usage_records(1)
    assert record.stream and record.output_tokens == upstream["usage"]["completion_tokens"]


def test_tool_call_round_trip_streamed(gateway: GatewayHandle) -> None:
    c = client(gateway)
    ask = {"role": "user", "content": 'USE_TOOL get_weather {"city": "Lima"}'}
    chunks = list(c.chat.completions.create(model="gpt-4o-mini", messages=[ask], tools=[WEATHER], stream=True))
    calls: dict[int, dict] = {}
    for ch in chunks:
        for tc in (ch.choices[0].delta.tool_calls or []) if ch.choices else []:
            slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            slot["id"] = tc.id or slot["id"]
            slot["name"] += tc.function.name or ""
            slot["arguments"] += tc.function.arguments or ""
    [call] = calls.values()
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Lima"}
    follow = c.chat.completions.create(
        model="gpt-4o-mini",
        tools=[WEATHER],
        messages=[
            ask,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["name"], "arguments": call["arguments"]},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call["id"], "content": "foggy"},
        ],
    )
    assert follow.choices[0].message.content == "Tool said: foggy"


def test_parallel_tool_calls_pass_through(gateway: GatewayHandle, fake_ob1: object) -> None:
    fake_ob1.enqueue(scripts.parallel_tool_calls())
    chunks = list(
        client(gateway).chat.completions.create(
            model="claude-sonnet-4-5",
            messages=[{"role": "user", "content": "x"}],
            tools=[WEATHER],
            stream=True,
        )
    )
    args: dict[int, str] = {}
    for ch in chunks:
        for tc in (ch.choices[0].delta.tool_calls or []) if ch.choices else []:
            args[tc.index] = args.get(tc.index, "") + (tc.function.arguments or "")
    assert {i: json.loads(a) for i, a in args.items()} == {
        0: {"city": "Paris", "unit": "celsius"},
        1: {"timezone": "Europe/Paris"},
    }


@pytest.mark.parametrize(
    ("kwargs", "error", "status"),
    [
        ({"messages": []}, openai.BadRequestError, 400),
        ({"model": "nope/not-a-model"}, openai.NotFoundError, 404),
    ],
)
def test_bad_requests_get_openai_errors(gateway: GatewayHandle, kwargs: dict, error: type, status: int) -> None:
    args = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]} | kwargs
    with pytest.raises(error) as caught:
        client(gateway).chat.completions.create(**args)
    assert caught.value.status_code == status
    assert set(caught.value.body) >= {"message", "type", "param", "code"}


def test_missing_key_is_401_in_openai_shape(gateway: GatewayHandle) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        client(gateway, key="not-a-gateway-key").models.list()
    assert caught.value.body["type"] == "authentication_error"


def test_upstream_error_before_first_byte_keeps_its_status(gateway: GatewayHandle, fake_ob1: object) -> None:
    # 503 is retried (OB1GW_MAX_RETRIES); it reaches the client once every attempt failed.
    fake_ob1.enqueue(*[scripts.http_error(503, "no capacity")] * (gateway.settings.max_retries + 1))
    with pytest.raises(openai.APIStatusError) as caught:
        list(
            client(gateway).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True
            )
        )
    assert caught.value.status_code in (502, 503)
    assert "no capacity" in caught.value.message


@pytest.mark.parametrize("stream", [False, True])
def test_chat_completions_echo_the_model_asked_for_as_every_route_does(
    gateway: GatewayHandle, fake_ob1: Any, stream: bool
) -> None:
    """The body's ``model`` is the name asked for on every route; the model that served is in ``x-ob1gw-model``."""
    oai = openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=gateway.key, max_retries=0)
    raw = oai.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=stream
    )
    assert raw.headers["x-ob1gw-model"] == "openai/gpt-4o-mini"
    parsed = raw.parse()
    models = {chunk.model for chunk in parsed} if stream else {parsed.model}  # type: ignore[union-attr]
    assert models == {"gpt-4o-mini"}
