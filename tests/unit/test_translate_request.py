"""Anthropic Messages request -> OpenAI chat request, table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ob1_gateway.translate.anthropic.anthropic_in import InvalidRequest, anthropic_to_chat

CLAUDE = "anthropic/claude-sonnet-4.6"
GPT = "openai/gpt-5"
CC = {"type": "ephemeral"}
LONG = "mcp__a_very_long_server_name__and_an_even_longer_tool_name_that_goes_past_64"
assert len(LONG) > 64


def req(messages: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": messages if messages is not None else [{"role": "user", "content": "hi"}],
    }
    base.update(extra)
    return base


def body(r: dict[str, Any], model: str = GPT) -> dict[str, Any]:
    return anthropic_to_chat(r, upstream_model=model).body


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def asst(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
TOOL_USE2 = {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}}
CALL1 = {
    "id": "toolu_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
}
CALL2 = {"id": "toolu_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
IMG_B64 = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
IMG_B64_PART = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
IMG_URL = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}}
IMG_URL_PART = {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}

# (id, request, upstream model, expected "messages" of the upstream body)
MESSAGE_CASES: list[tuple[str, dict[str, Any], str, list[dict[str, Any]]]] = [
    ("string_content", req(), GPT, [user("hi")]),
    ("system_string", req(system="be brief"), GPT, [{"role": "system", "content": "be brief"}, user("hi")]),
    ("system_empty_string_dropped", req(system=""), GPT, [user("hi")]),
    (
        "system_blocks_joined_for_non_claude_cache_control_stripped",
        req(system=[{"type": "text", "text": "a", "cache_control": CC}, {"type": "text", "text": "b"}]),
        GPT,
        [{"role": "system", "content": "a\n\nb"}, user("hi")],
    ),
    (
        "system_blocks_keep_cache_control_for_claude",
        req(system=[{"type": "text", "text": "a", "cache_control": CC}, {"type": "text", "text": "b"}]),
        CLAUDE,
        [
            {
                "role": "system",
                "content": [
                    {"type": "text", "text": "a", "cache_control": CC},
                    {"type": "text", "text": "b"},
                ],
            },
            user("hi"),
        ],
    ),
    (
        "user_text_block_cache_control_claude",
        req([user([{"type": "text", "text": "x", "cache_control": CC}])]),
        CLAUDE,
        [user([{"type": "text", "text": "x", "cache_control": CC}])],
    ),
    (
        "user_text_block_cache_control_stripped_non_claude",
        req([user([{"type": "text", "text": "x", "cache_control": CC}])]),
        GPT,
        [user("x")],
    ),
    ("image_base64_to_data_url", req([user([IMG_B64])]), GPT, [user([IMG_B64_PART])]),
    (
        "image_url",
        req([user([IMG_URL, {"type": "text", "text": "what?"}])]),
        GPT,
        [user([IMG_URL_PART, {"type": "text", "text": "what?"}])],
    ),
    (
        "empty_text_blocks_dropped",
        req([user([{"type": "text", "text": ""}, {"type": "text", "text": "x"}])]),
        GPT,
        [user("x")],
    ),
    (
        "assistant_only_tool_use_gets_null_content",
        req([user("w?"), asst([TOOL_USE])]),
        GPT,
        [user("w?"), {"role": "assistant", "content": None, "tool_calls": [CALL1]}],
    ),
    (
        "assistant_empty_text_plus_tool_use_is_null_not_empty",
        req([user("w?"), asst([{"type": "text", "text": ""}, TOOL_USE])]),
        GPT,
        [user("w?"), {"role": "assistant", "content": None, "tool_calls": [CALL1]}],
    ),
    (
        "assistant_text_and_tool_use",
        req([user("w?"), asst([{"type": "text", "text": "checking"}, TOOL_USE])]),
        GPT,
        [user("w?"), {"role": "assistant", "content": "checking", "tool_calls": [CALL1]}],
    ),
    (
        "tool_results_follow_tool_calls_in_order_then_sibling_text",
        req(
            [
                user("w?"),
                asst([TOOL_USE, TOOL_USE2]),
                user(
                    [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                        {"type": "text", "text": "also this"},
                        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "noon"},
                    ]
                ),
            ]
        ),
        GPT,
        [
            user("w?"),
            {"role": "assistant", "content": None, "tool_calls": [CALL1, CALL2]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": "noon"},
            user("also this"),
        ],
    ),
    (
        "tool_result_blocks_text_joined_images_to_following_user_message",
        req(
            [
                user("w?"),
                asst([TOOL_USE]),
                user(
                    [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_1",
                            "content": [
                                {"type": "text", "text": "line1"},
                                IMG_B64,
                                {"type": "text", "text": "line2"},
                            ],
                        },
                        IMG_URL,
                        {"type": "text", "text": "and?"},
                    ]
                ),
            ]
        ),
        GPT,
        [
            user("w?"),
            {"role": "assistant", "content": None, "tool_calls": [CALL1]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "line1\nline2"},
            user([IMG_B64_PART, IMG_URL_PART, {"type": "text", "text": "and?"}]),
        ],
    ),
    (
        "tool_result_is_error_kept_visibly",
        req(
            [
                user("w?"),
                asst([TOOL_USE]),
                user([{"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True, "content": "boom"}]),
            ]
        ),
        GPT,
        [
            user("w?"),
            {"role": "assistant", "content": None, "tool_calls": [CALL1]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "[tool error] boom"},
        ],
    ),
    (
        "tool_result_without_content",
        req([user("w?"), asst([TOOL_USE]), user([{"type": "tool_result", "tool_use_id": "toolu_1"}])]),
        GPT,
        [
            user("w?"),
            {"role": "assistant", "content": None, "tool_calls": [CALL1]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": ""},
        ],
    ),
    (
        "tool_result_cache_control_kept_for_claude",
        req(
            [
                user("w?"),
                asst([TOOL_USE]),
                user([{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok", "cache_control": CC}]),
            ]
        ),
        CLAUDE,
        [
            user("w?"),
            {"role": "assistant", "content": None, "tool_calls": [CALL1]},
            {
                "role": "tool",
                "tool_call_id": "toolu_1",
                "content": [{"type": "text", "text": "ok", "cache_control": CC}],
            },
        ],
    ),
    (
        "signed_thinking_replayed_via_reasoning_details",
        req(
            [
                user("q"),
                asst(
                    [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig1"},
                        {"type": "redacted_thinking", "data": "ENC"},
                        {"type": "text", "text": "a"},
                    ]
                ),
                user("more"),
            ]
        ),
        CLAUDE,
        [
            user("q"),
            {
                "role": "assistant",
                "content": "a",
                "reasoning_details": [
                    {
                        "type": "reasoning.text",
                        "text": "hmm",
                        "signature": "sig1",
                        "format": "anthropic-claude-v1",
                        "index": 0,
                    },
                    {
                        "type": "reasoning.encrypted",
                        "data": "ENC",
                        "format": "anthropic-claude-v1",
                        "index": 1,
                    },
                ],
            },
            user("more"),
        ],
    ),
    (
        "unsigned_thinking_dropped_signature_never_invented",
        req([user("q"), asst([{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "a"}])]),
        CLAUDE,
        [user("q"), {"role": "assistant", "content": "a"}],
    ),
    (
        "empty_assistant_turn_dropped",
        req([user("q"), asst([{"type": "text", "text": ""}]), user("again")]),
        GPT,
        [user("q"), user("again")],
    ),
    (
        "long_tool_name_in_history_shortened",
        req([user("q"), asst([{"type": "tool_use", "id": "t", "name": LONG, "input": {}}])]),
        GPT,
        [
            user("q"),
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "t", "type": "function", "function": {"name": "<short>", "arguments": "{}"}}],
            },
        ],
    ),
    (
        "document_pdf_base64_and_text",
        req(
            [
                user(
                    [
                        {
                            "type": "document",
                            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
                        },
                        {
                            "type": "document",
                            "title": "T",
                            "source": {"type": "text", "media_type": "text/plain", "data": "body"},
                        },
                    ]
                )
            ]
        ),
        GPT,
        [
            user(
                [
                    {
                        "type": "file",
                        "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBE"},
                    },
                    {"type": "text", "text": "T\n\nbody"},
                ]
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("request_", "model", "expected"), [c[1:] for c in MESSAGE_CASES], ids=[c[0] for c in MESSAGE_CASES]
)
def test_messages(request_: dict[str, Any], model: str, expected: list[dict[str, Any]]) -> None:
    plan = anthropic_to_chat(request_, upstream_model=model)
    expected_json = json.dumps(expected).replace("<short>", plan.tool_names.shorten(LONG))
    assert plan.body["messages"] == json.loads(expected_json)


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
WEATHER_FN = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER_TOOL["input_schema"]},
}

# (id, request, upstream model, expected subset of the upstream body; None means "key absent")
FIELD_CASES: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("model_is_upstream_model", req(), CLAUDE, {"model": CLAUDE}),
    ("max_tokens", req(max_tokens=1234), GPT, {"max_tokens": 1234}),
    ("usage_include_always", req(), GPT, {"usage": {"include": True}}),
    ("non_stream_has_no_stream_fields", req(), GPT, {"stream": None, "stream_options": None}),
    ("stream_fields", req(stream=True), GPT, {"stream": True, "stream_options": {"include_usage": True}}),
    ("tools_to_functions", req(tools=[WEATHER_TOOL]), GPT, {"tools": [WEATHER_FN]}),
    (
        "tool_without_schema_gets_empty_object_schema",
        req(tools=[{"name": "noop"}]),
        GPT,
        {
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}},
                }
            ]
        },
    ),
    (
        "tool_choice_auto",
        req(tools=[WEATHER_TOOL], tool_choice={"type": "auto"}),
        GPT,
        {"tool_choice": "auto"},
    ),
    (
        "tool_choice_any_required",
        req(tools=[WEATHER_TOOL], tool_choice={"type": "any"}),
        GPT,
        {"tool_choice": "required"},
    ),
    (
        "tool_choice_none",
        req(tools=[WEATHER_TOOL], tool_choice={"type": "none"}),
        GPT,
        {"tool_choice": "none"},
    ),
    (
        "tool_choice_tool",
        req(tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "get_weather"}),
        GPT,
        {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
    ),
    (
        "disable_parallel_tool_use",
        req(tools=[WEATHER_TOOL], tool_choice={"type": "auto", "disable_parallel_tool_use": True}),
        GPT,
        {"parallel_tool_calls": False, "tool_choice": "auto"},
    ),
    (
        "parallel_default_absent",
        req(tools=[WEATHER_TOOL], tool_choice={"type": "auto"}),
        GPT,
        {"parallel_tool_calls": None},
    ),
    ("stop_sequences", req(stop_sequences=["END", "STOP"]), GPT, {"stop": ["END", "STOP"]}),
    ("empty_stop_sequences_absent", req(stop_sequences=[]), GPT, {"stop": None}),
    ("metadata_user_id", req(metadata={"user_id": "u-1"}), GPT, {"user": "u-1"}),
    (
        "sampling",
        req(temperature=0.2, top_p=0.9, top_k=40),
        GPT,
        {"temperature": 0.2, "top_p": 0.9, "top_k": 40},
    ),
    (
        "thinking_budget",
        req(thinking={"type": "enabled", "budget_tokens": 2048}),
        CLAUDE,
        {"reasoning": {"max_tokens": 2048}},
    ),
    ("thinking_disabled", req(thinking={"type": "disabled"}), CLAUDE, {"reasoning": {"enabled": False}}),
    ("thinking_adaptive", req(thinking={"type": "adaptive"}), CLAUDE, {"reasoning": {"enabled": True}}),
    (
        "thinking_adaptive_effort_output_config",
        req(thinking={"type": "adaptive"}, output_config={"effort": "medium"}),
        CLAUDE,
        {"reasoning": {"effort": "medium"}},
    ),
    ("effort_max_to_xhigh", req(output_config={"effort": "max"}), CLAUDE, {"reasoning": {"effort": "xhigh"}}),
    ("no_thinking_no_reasoning", req(), CLAUDE, {"reasoning": None}),
    (
        "unknown_fields_ignored",
        req(mcp_servers=[], context_management={}, betas=["x"], some_future_field=1),
        GPT,
        {"mcp_servers": None, "betas": None, "some_future_field": None},
    ),
]


@pytest.mark.parametrize(
    ("request_", "model", "expected"), [c[1:] for c in FIELD_CASES], ids=[c[0] for c in FIELD_CASES]
)
def test_fields(request_: dict[str, Any], model: str, expected: dict[str, Any]) -> None:
    b = body(request_, model)
    for key, value in expected.items():
        if value is None:
            assert key not in b, key
        else:
            assert b[key] == value, key


def test_long_tool_names_shortened_in_tools_choice_and_history_consistently() -> None:
    plan = anthropic_to_chat(
        req(
            [
                user("q"),
                asst([{"type": "tool_use", "id": "t", "name": LONG, "input": {}}]),
                user([{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]),
            ],
            tools=[{"name": LONG, "input_schema": {"type": "object"}}],
            tool_choice={"type": "tool", "name": LONG},
        ),
        upstream_model=GPT,
    )
    short = plan.body["tools"][0]["function"]["name"]
    assert len(short) == 64 and short != LONG
    assert plan.body["tool_choice"]["function"]["name"] == short
    assert plan.body["messages"][1]["tool_calls"][0]["function"]["name"] == short
    assert plan.tool_names.restore(short) == LONG


def test_plan_fields() -> None:
    plan = anthropic_to_chat(req(stream=True, stop_sequences=["X"]), upstream_model=CLAUDE)
    assert plan.stream is True
    assert plan.model == "claude-sonnet-4-5"
    assert plan.stop_sequences == ["X"]
    assert anthropic_to_chat(req(), upstream_model=CLAUDE).stream is False


def test_request_not_mutated() -> None:
    r = req(
        [user([{"type": "text", "text": "x", "cache_control": CC}])],
        system=[{"type": "text", "text": "s", "cache_control": CC}],
    )
    snapshot = json.dumps(r, sort_keys=True)
    anthropic_to_chat(r, upstream_model=GPT)
    anthropic_to_chat(r, upstream_model=CLAUDE)
    assert json.dumps(r, sort_keys=True) == snapshot


INVALID = [
    ("not_object", [], None),
    ("missing_messages", {"model": "m", "max_tokens": 5}, "messages"),
    ("empty_messages", req([]), "messages"),
    ("messages_not_list", req(messages="hi"), "messages"),  # type: ignore[arg-type]
    ("bad_role", req([{"role": "robot", "content": "x"}]), "messages.0.role"),
    ("content_not_str_or_list", req([{"role": "user", "content": 5}]), "messages.0.content"),
    ("missing_max_tokens", {"model": "m", "messages": [user("x")]}, "max_tokens"),
    ("zero_max_tokens", req(max_tokens=0), "max_tokens"),
    ("bool_max_tokens", req(max_tokens=True), "max_tokens"),
    ("float_max_tokens", req(max_tokens=1.5), "max_tokens"),
    ("missing_model", {"max_tokens": 5, "messages": [user("x")]}, "model"),
    ("unknown_block_type", req([user([{"type": "hologram"}])]), "messages.0.content.0.type"),
    ("tool_use_in_user", req([user([TOOL_USE])]), "messages.0.content.0.type"),
    (
        "tool_result_in_assistant",
        req([user("x"), asst([{"type": "tool_result", "tool_use_id": "a"}])]),
        "messages.1.content.0.type",
    ),
    (
        "tool_result_without_id",
        req([user([{"type": "tool_result", "content": "x"}])]),
        "messages.0.content.0.tool_use_id",
    ),
    (
        "bad_image_source",
        req([user([{"type": "image", "source": {"type": "bytes", "data": "f"}}])]),
        "messages.0.content.0.source.type",
    ),
    ("system_not_text", req(system=[{"type": "image"}]), "system.0"),
    ("tool_without_name", req(tools=[{"input_schema": {}}]), "tools.0.name"),
    ("bad_tool_choice", req(tools=[WEATHER_TOOL], tool_choice={"type": "maybe"}), "tool_choice.type"),
    ("bad_budget", req(thinking={"type": "enabled", "budget_tokens": "lots"}), "thinking.budget_tokens"),
    ("stop_sequences_not_strings", req(stop_sequences=[1]), "stop_sequences"),
    (
        "tool_use_input_not_object",
        req([user("x"), asst([{**TOOL_USE, "input": [1]}])]),
        "messages.1.content.0.input",
    ),
]


@pytest.mark.parametrize(("request_", "param"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_requests(request_: Any, param: str | None) -> None:
    with pytest.raises(InvalidRequest) as info:
        anthropic_to_chat(request_, upstream_model=GPT)
    assert info.value.param == param
    assert info.value.message and str(info.value) == info.value.message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("kind", [["text"], {"t": 1}, 3, None])
def test_tool_result_block_whose_type_is_not_a_string_is_a_400(kind: Any) -> None:
    """Found by the body fuzzer: an unhashable ``type`` inside a tool_result once raised TypeError (a 500)."""
    block = {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": kind, "text": "x"}]}
    req = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": [block]}]}
    with pytest.raises(InvalidRequest) as info:
        anthropic_to_chat(req, upstream_model="m")
    assert info.value.param == "messages.0.content.0.content.0"
