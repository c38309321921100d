"""OpenAI Responses request -> chat-completions request (``translate.responses_in``)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ob1_gateway.translate.anthropic.anthropic_in import InvalidRequest
from ob1_gateway.translate.responses.responses_in import (
    ENCRYPTED_PREFIX,
    decode_reasoning,
    encode_reasoning,
    responses_to_chat,
)

MODEL = "anthropic/claude-sonnet-4.6"
LONG = "mcp__a_very_long_server_name__and_an_even_longer_tool_name_that_goes_past_64"
SIGNED = [{"type": "reasoning.text", "text": "hmm", "signature": "sig", "format": "anthropic-claude-v1", "index": 0}]


def build(req: dict[str, Any]) -> dict[str, Any]:
    return responses_to_chat({"model": "m", **req}, upstream_model=MODEL).body


def fc(call_id: str, name: str = "f", args: Any = "{}") -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": args}


def out(call_id: str, output: Any) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def call(call_id: str, name: str = "f", args: str = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


USER = {"role": "user", "content": "q"}
IMAGE = {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}}

MESSAGES = [
    ("string input", {"input": "hi"}, [{"role": "user", "content": "hi"}]),
    (
        "instructions first",
        {"instructions": "be brief", "input": "hi"},
        [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
    ),
    ("message without type", {"input": [{"role": "user", "content": "a"}]}, [{"role": "user", "content": "a"}]),
    (
        "message with type and input_text part",
        {"input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}]}]},
        [{"role": "user", "content": "a"}],
    ),
    (
        "text and image parts",
        {
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "see"},
                        {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
                    ],
                }
            ]
        },
        [{"role": "user", "content": [{"type": "text", "text": "see"}, IMAGE]}],
    ),
    (
        "input_file as an OpenRouter file part",
        {
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,AAA"}
                    ],
                }
            ]
        },
        [
            {
                "role": "user",
                "content": [
                    {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,AAA"}}
                ],
            }
        ],
    ),
    (
        "developer becomes system",
        {"input": [{"role": "developer", "content": "rules"}, USER]},
        [{"role": "system", "content": "rules"}, USER],
    ),
    (
        "system parts joined",
        {
            "input": [
                {
                    "role": "system",
                    "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}],
                },
                USER,
            ]
        },
        [{"role": "system", "content": "a\n\nb"}, USER],
    ),
    (
        "assistant output_text parts become one string",
        {
            "input": [
                USER,
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [
                        {"type": "output_text", "text": "x", "annotations": []},
                        {"type": "output_text", "text": "y"},
                    ],
                },
            ]
        },
        [USER, {"role": "assistant", "content": "xy"}],
    ),
    (
        "assistant refusal part kept as text",
        {"input": [USER, {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}]},
        [USER, {"role": "assistant", "content": "no"}],
    ),
    ("empty text parts dropped", {"input": [USER, {"role": "assistant", "content": ""}]}, [USER]),
    (
        "function_call -> assistant tool_calls with null content",
        {"input": [USER, fc("c1")]},
        [USER, {"role": "assistant", "content": None, "tool_calls": [call("c1")]}],
    ),
    (
        "consecutive function_calls merged",
        {"input": [USER, fc("c1"), fc("c2", "g", '{"a":1}'), out("c1", "r1"), out("c2", "r2")]},
        [
            USER,
            {"role": "assistant", "content": None, "tool_calls": [call("c1"), call("c2", "g", '{"a":1}')]},
            {"role": "tool", "tool_call_id": "c1", "content": "r1"},
            {"role": "tool", "tool_call_id": "c2", "content": "r2"},
        ],
    ),
    (
        "assistant text and its function_call are one turn",
        {"input": [USER, {"role": "assistant", "content": "let me check"}, fc("c1")]},
        [USER, {"role": "assistant", "content": "let me check", "tool_calls": [call("c1")]}],
    ),
    (
        "assistant text after tool calls starts a new turn",
        {"input": [USER, fc("c1"), {"role": "assistant", "content": "more"}]},
        [
            USER,
            {"role": "assistant", "content": None, "tool_calls": [call("c1")]},
            {"role": "assistant", "content": "more"},
        ],
    ),
    (
        "object arguments serialised",
        {"input": [USER, fc("c1", args={"a": 1})]},
        [USER, {"role": "assistant", "content": None, "tool_calls": [call("c1", args='{"a":1}')]}],
    ),
    (
        "function_call_output parts: text in the tool message, images after all tool messages",
        {
            "input": [
                USER,
                fc("c1"),
                fc("c2"),
                out(
                    "c1",
                    [
                        {"type": "input_text", "text": "t1"},
                        {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
                    ],
                ),
                out("c2", None),
            ]
        },
        [
            USER,
            {"role": "assistant", "content": None, "tool_calls": [call("c1"), call("c2")]},
            {"role": "tool", "tool_call_id": "c1", "content": "t1"},
            {"role": "tool", "tool_call_id": "c2", "content": ""},
            {"role": "user", "content": [IMAGE]},
        ],
    ),
    (
        "reasoning summaries without our encrypted_content are dropped",
        {
            "input": [
                USER,
                {
                    "type": "reasoning",
                    "id": "rs_1",
                    "summary": [{"type": "summary_text", "text": "s"}],
                    "encrypted_content": "gAAAA-openai-blob",
                },
                {"role": "assistant", "content": "a"},
            ]
        },
        [USER, {"role": "assistant", "content": "a"}],
    ),
    (
        "our encrypted reasoning replayed on the next assistant turn",
        {
            "input": [
                USER,
                {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": encode_reasoning(SIGNED)},
                fc("c1"),
            ]
        },
        [USER, {"role": "assistant", "content": None, "tool_calls": [call("c1")], "reasoning_details": SIGNED}],
    ),
]


@pytest.mark.parametrize(("request_", "expected"), [c[1:] for c in MESSAGES], ids=[c[0] for c in MESSAGES])
def test_messages(request_: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    assert build(request_)["messages"] == expected


def fn_tool(name: str = "f", **extra: Any) -> dict[str, Any]:
    return {"type": "function", "name": name, "parameters": {"type": "object"}, **extra}


CHAT_F = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
CHAT_CUSTOM = {
    "type": "function",
    "function": {
        "name": "apply_patch",
        "parameters": {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "The tool's whole input, as free-form text."}},
            "required": ["input"],
        },
    },
}

FIELDS: list[tuple[str, dict[str, Any], dict[str, Any], tuple[str, ...]]] = [
    # (id, request fields, expected body subset, keys that must be absent)
    ("defaults", {}, {"model": MODEL, "usage": {"include": True}}, ("max_tokens", "tools", "stream", "reasoning")),
    ("max_output_tokens", {"max_output_tokens": 64}, {"max_tokens": 64}, ()),
    ("temperature and top_p", {"temperature": 0.5, "top_p": 1}, {"temperature": 0.5, "top_p": 1}, ()),
    (
        "function tool with description and strict",
        {"tools": [fn_tool(description="d", strict=True)]},
        {
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "f", "description": "d", "parameters": {"type": "object"}, "strict": True},
                }
            ]
        },
        (),
    ),
    (
        "missing parameters become an empty object schema",
        {"tools": [{"type": "function", "name": "f"}]},
        {
            "tools": [
                {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
            ]
        },
        (),
    ),
    (
        "hosted tools omitted, a custom tool is a function of one string",
        {"tools": [{"type": "web_search"}, fn_tool(), {"type": "custom", "name": "apply_patch"}]},
        {"tools": [CHAT_F, CHAT_CUSTOM]},
        (),
    ),
    (
        "only hosted tools, not required: no tools and no tool_choice",
        {"tools": [{"type": "file_search"}], "tool_choice": "auto", "parallel_tool_calls": False},
        {},
        ("tools", "tool_choice", "parallel_tool_calls"),
    ),
    ("tool_choice auto", {"tools": [fn_tool()], "tool_choice": "auto"}, {"tool_choice": "auto"}, ()),
    ("tool_choice none", {"tools": [fn_tool()], "tool_choice": "none"}, {"tool_choice": "none"}, ()),
    ("tool_choice required", {"tools": [fn_tool()], "tool_choice": "required"}, {"tool_choice": "required"}, ()),
    (
        "tool_choice function",
        {"tools": [fn_tool()], "tool_choice": {"type": "function", "name": "f"}},
        {"tool_choice": {"type": "function", "function": {"name": "f"}}},
        (),
    ),
    (
        "tool_choice allowed_tools uses its mode",
        {"tools": [fn_tool()], "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": []}},
        {"tool_choice": "required"},
        (),
    ),
    (
        "tool_choice of a hosted tool falls back to auto",
        {"tools": [fn_tool()], "tool_choice": {"type": "web_search"}},
        {"tool_choice": "auto"},
        (),
    ),
    ("parallel_tool_calls", {"tools": [fn_tool()], "parallel_tool_calls": False}, {"parallel_tool_calls": False}, ()),
    ("parallel_tool_calls without tools dropped", {"parallel_tool_calls": True}, {}, ("parallel_tool_calls",)),
    ("user", {"user": "u1"}, {"user": "u1"}, ()),
    ("safety_identifier as user", {"safety_identifier": "s1"}, {"user": "s1"}, ()),
    ("reasoning effort", {"reasoning": {"effort": "high", "summary": "auto"}}, {"reasoning": {"effort": "high"}}, ()),
    ("reasoning effort none", {"reasoning": {"effort": "none"}}, {"reasoning": {"effort": "none"}}, ()),
    ("reasoning without effort", {"reasoning": {"summary": "auto"}}, {}, ("reasoning",)),
    (
        "text.format json_schema",
        {"text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}, "strict": True}}},
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "s", "schema": {"type": "object"}, "strict": True},
            }
        },
        (),
    ),
    (
        "text.format json_object",
        {"text": {"format": {"type": "json_object"}}},
        {"response_format": {"type": "json_object"}},
        (),
    ),
    ("text.format text", {"text": {"format": {"type": "text"}, "verbosity": "low"}}, {}, ("response_format",)),
    ("stream", {"stream": True}, {"stream": True, "stream_options": {"include_usage": True}}, ()),
    (
        "fields chat has are passed on",
        {"prompt_cache_key": "k", "service_tier": "auto", "text": {"verbosity": "low"}, "top_logprobs": 3},
        {"prompt_cache_key": "k", "service_tier": "auto", "verbosity": "low", "logprobs": True, "top_logprobs": 3},
        (),
    ),
    (
        "logprobs by include",
        {"include": ["message.output_text.logprobs"]},
        {"logprobs": True},
        ("top_logprobs",),
    ),
    (
        "fields with no upstream counterpart stay here",
        {
            "store": False,
            "include": ["reasoning.encrypted_content"],
            "metadata": {"a": "b"},
            "truncation": "auto",
            "previous_response_id": None,
            "future_field": 1,
        },
        {},
        ("store", "include", "metadata", "truncation", "future_field", "logprobs"),
    ),
]


@pytest.mark.parametrize(("fields", "expected", "absent"), [c[1:] for c in FIELDS], ids=[c[0] for c in FIELDS])
def test_fields(fields: dict[str, Any], expected: dict[str, Any], absent: tuple[str, ...]) -> None:
    body = build({"input": "q", **fields})
    assert {k: body.get(k) for k in expected} == expected
    assert not set(absent) & set(body)


def test_long_tool_names_shortened_everywhere_and_restorable() -> None:
    plan = responses_to_chat(
        {
            "model": "m",
            "input": [USER, fc("c1", LONG)],
            "tools": [fn_tool(LONG)],
            "tool_choice": {"type": "function", "name": LONG},
        },
        upstream_model=MODEL,
    )
    short = plan.tools.names.shorten(LONG)
    assert len(short) <= 64 and plan.tools.names.restore(short) == LONG
    assert plan.body["tools"][0]["function"]["name"] == short
    assert plan.body["tool_choice"]["function"]["name"] == short
    assert plan.body["messages"][1]["tool_calls"][0]["function"]["name"] == short


def test_plan_fields_and_echo() -> None:
    tools = [fn_tool(), {"type": "web_search"}]
    req = {"model": "client-name", "input": "q", "stream": True, "instructions": "i", "tools": tools,
           "include": ["reasoning.encrypted_content"], "store": False, "temperature": 0.1,
           "reasoning": {"effort": "low"}, "metadata": {"k": "v"}}  # fmt: skip
    plan = responses_to_chat(req, upstream_model=MODEL)
    assert (plan.model, plan.stream, plan.include_encrypted) == ("client-name", True, True)
    echo = plan.echo
    assert echo["tools"] == tools and echo["tool_choice"] == "auto" and echo["parallel_tool_calls"] is True
    assert (echo["instructions"], echo["temperature"], echo["store"], echo["metadata"]) == ("i", 0.1, False, {"k": "v"})
    assert echo["reasoning"] == {"effort": "low", "summary": None}
    assert echo["text"] == {"format": {"type": "text"}} and echo["previous_response_id"] is None
    assert not responses_to_chat({"model": "m", "input": "q"}, upstream_model=MODEL).include_encrypted


def test_request_not_mutated() -> None:
    req = {"model": "m", "input": [USER, fc("c1"), out("c1", "r")], "tools": [fn_tool()], "instructions": "i"}
    before = copy.deepcopy(req)
    responses_to_chat(req, upstream_model=MODEL)
    assert req == before


def test_reasoning_codec_round_trip_and_rejects_foreign_blobs() -> None:
    blob = encode_reasoning(SIGNED)
    assert blob.startswith(ENCRYPTED_PREFIX) and decode_reasoning(blob) == SIGNED
    for foreign in (None, 3, "gAAAAB-openai", ENCRYPTED_PREFIX + "!!!", ENCRYPTED_PREFIX + "e30"):
        assert decode_reasoning(foreign) == []


INVALID = [
    ("not an object", "x", None),
    ("model missing", {"input": "q"}, "model"),
    ("prompt template", {"model": "m", "input": "q", "prompt": {"id": "pmpt_1"}}, "prompt"),
    ("background", {"model": "m", "input": "q", "background": True}, "background"),
    ("moderation", {"model": "m", "input": "q", "moderation": {"model": "omni"}}, "moderation"),
    (
        "a hosted tool the request requires",
        {"model": "m", "input": "q", "tools": [{"type": "file_search"}], "tool_choice": "required"},
        "tools[0].type",
    ),
    (
        "a hosted tool chosen",
        {
            "model": "m",
            "input": "q",
            "tools": [fn_tool(), {"type": "web_search"}],
            "tool_choice": {"type": "web_search"},
        },
        "tools[1].type",
    ),
    ("conversation", {"model": "m", "input": "q", "conversation": "conv_1"}, "conversation"),
    ("input missing", {"model": "m"}, "input"),
    ("input empty string", {"model": "m", "input": ""}, "input"),
    ("input empty list", {"model": "m", "input": []}, "input"),
    ("only instructions", {"model": "m", "instructions": "i", "input": [{"role": "system", "content": "s"}]}, "input"),
    ("item not an object", {"model": "m", "input": ["x"]}, "input[0]"),
    ("bad role", {"model": "m", "input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
    ("unhashable role", {"model": "m", "input": [{"role": ["user"], "content": "x"}]}, "input[0].role"),
    ("unknown item type", {"model": "m", "input": [USER, {"type": "file_search_call"}]}, "input[1].type"),
    ("item_reference", {"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].id"),
    ("content not list", {"model": "m", "input": [{"role": "user", "content": 3}]}, "input[0].content"),
    (
        "unknown part",
        {"model": "m", "input": [{"role": "user", "content": [{"type": "audio"}]}]},
        "input[0].content[0].type",
    ),
    (
        "image in assistant",
        {"model": "m", "input": [USER, {"role": "assistant", "content": [{"type": "input_image", "image_url": "u"}]}]},
        "input[1].content[0].type",
    ),
    (
        "text not string",
        {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text"}]}]},
        "input[0].content[0].text",
    ),
    (
        "image by file_id",
        {"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]},
        "input[0].content[0].image_url",
    ),
    (
        "file by file_id",
        {"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file_1"}]}]},
        "input[0].content[0].file_data",
    ),
    (
        "function_call without call_id",
        {"model": "m", "input": [USER, {"type": "function_call", "name": "f"}]},
        "input[1].call_id",
    ),
    (
        "function_call without name",
        {"model": "m", "input": [USER, {"type": "function_call", "call_id": "c"}]},
        "input[1].name",
    ),
    ("function_call bad arguments", {"model": "m", "input": [USER, fc("c", args=3)]}, "input[1].arguments"),
    (
        "output without call_id",
        {"model": "m", "input": [USER, {"type": "function_call_output", "output": "x"}]},
        "input[1].call_id",
    ),
    ("output bad type", {"model": "m", "input": [USER, out("c", 3)]}, "input[1].output"),
    ("instructions not string", {"model": "m", "input": "q", "instructions": ["x"]}, "instructions"),
    ("stream not bool", {"model": "m", "input": "q", "stream": "yes"}, "stream"),
    ("max_output_tokens zero", {"model": "m", "input": "q", "max_output_tokens": 0}, "max_output_tokens"),
    ("max_output_tokens bool", {"model": "m", "input": "q", "max_output_tokens": True}, "max_output_tokens"),
    ("temperature string", {"model": "m", "input": "q", "temperature": "hot"}, "temperature"),
    ("top_p bool", {"model": "m", "input": "q", "top_p": False}, "top_p"),
    ("tools not list", {"model": "m", "input": "q", "tools": {}}, "tools"),
    ("tool not object", {"model": "m", "input": "q", "tools": ["f"]}, "tools[0]"),
    ("tool without name", {"model": "m", "input": "q", "tools": [{"type": "function"}]}, "tools[0].name"),
    ("tool bad parameters", {"model": "m", "input": "q", "tools": [fn_tool(parameters=[])]}, "tools[0].parameters"),
    ("tool_choice unknown", {"model": "m", "input": "q", "tools": [fn_tool()], "tool_choice": "any"}, "tool_choice"),
    (
        "tool_choice function without name",
        {"model": "m", "input": "q", "tools": [fn_tool()], "tool_choice": {"type": "function"}},
        "tool_choice.name",
    ),
    ("parallel_tool_calls not bool", {"model": "m", "input": "q", "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ("reasoning not object", {"model": "m", "input": "q", "reasoning": "high"}, "reasoning"),
    ("reasoning effort unknown", {"model": "m", "input": "q", "reasoning": {"effort": "max"}}, "reasoning.effort"),
    (
        "reasoning effort unhashable",
        {"model": "m", "input": "q", "reasoning": {"effort": ["high"]}},
        "reasoning.effort",
    ),
]


@pytest.mark.parametrize(("request_", "param"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_requests(request_: Any, param: str | None) -> None:
    with pytest.raises(InvalidRequest) as caught:
        responses_to_chat(request_, upstream_model=MODEL)
    assert caught.value.param == param
    assert caught.value.message


def test_features_not_offered_say_why() -> None:
    with pytest.raises(InvalidRequest) as caught:
        responses_to_chat({"model": "m", "input": "q", "conversation": "conv_1"}, upstream_model=MODEL)
    assert "Conversations API" in caught.value.message and "previous_response_id" in caught.value.message
    with pytest.raises(InvalidRequest) as caught:
        responses_to_chat({"model": "m", "input": "q", "prompt": {"id": "pmpt_1"}}, upstream_model=MODEL)
    assert "prompt templates" in caught.value.message


def test_history_goes_first_and_instructions_are_this_requests_only() -> None:
    """A previous response's conversation (resolved by the route) precedes the new input; only this
    request's instructions are sent; the echo names the previous response and says what is stored."""
    history = [
        {"type": "message", "id": "msg_a", "role": "user", "content": [{"type": "input_text", "text": "one"}]},
        {"type": "reasoning", "id": "rs_a", "summary": [], "encrypted_content": encode_reasoning(SIGNED)},
        {"type": "message", "id": "msg_b", "role": "assistant", "content": [{"type": "output_text", "text": "1"}]},
    ]
    req = {"model": "m", "input": "two", "instructions": "now", "previous_response_id": "resp_x"}
    plan = responses_to_chat(req, upstream_model=MODEL, history=history, store=True)
    assert plan.body["messages"] == [
        {"role": "system", "content": "now"},
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "1", "reasoning_details": SIGNED},
        {"role": "user", "content": "two"},
    ]
    assert plan.echo["previous_response_id"] == "resp_x" and plan.echo["store"] is True and plan.keep_reasoning
    assert responses_to_chat({"model": "m", "input": "q"}, upstream_model=MODEL).echo["store"] is False


def test_body_is_json_serialisable() -> None:
    body = build({"input": [USER, fc("c1"), out("c1", "r")], "tools": [fn_tool()], "stream": True})
    assert json.loads(json.dumps(body)) == body


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=15,
)
_field = st.sampled_from(
    ["input", "instructions", "tools", "tool_choice", "reasoning", "text", "max_output_tokens", "temperature",
     "parallel_tool_calls", "user", "stream", "include", "previous_response_id"]
)  # fmt: skip
_item = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "function_call", "function_call_output", "reasoning", None])},
    optional={"role": st.sampled_from(["user", "assistant", "developer", "x"]) | _json, "content": _json,
              "call_id": _json, "name": _json, "arguments": _json, "output": _json, "encrypted_content": _json},
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_field, _json, max_size=5), st.lists(_item, max_size=4))
def test_any_body_is_translated_or_refused_with_invalid_request(fields: dict[str, Any], items: list[Any]) -> None:
    req = {"model": "m", **fields}
    if items and "input" not in fields:
        req["input"] = items
    try:
        plan = responses_to_chat(req, upstream_model=MODEL)
    except InvalidRequest as exc:
        assert exc.message
        return
    assert json.loads(json.dumps(plan.body)) == plan.body
    assert all(
        isinstance(m, dict) and m["role"] in ("system", "user", "assistant", "tool") for m in plan.body["messages"]
    )


HINTS = {
    "reasoning": {"effort": "low", "summary": "detailed", "generate_summary": "auto"},
    "max_tool_calls": 3,
    "context_management": [{"type": "compaction", "compact_threshold": 1000}],
    "prompt_cache_options": {"mode": "implicit"},
    "background": False,
    "background_options": {"completion_window": "soonest"},
    "stream_options": {"include_obfuscation": False},
    "image": {"context_compression": "auto"},
    "access_programs": {"cyber": "standard"},
    "client_metadata": {"session": "s"},
    "include": ["file_search_call.results", "web_search_call.action.sources", "message.input_image.image_url"],
    "truncation": "auto",
}


def test_hints_have_no_effect_and_the_echo_says_what_was_done() -> None:
    """docs/clients.md's hint rows: accepted, nothing of them goes upstream; truncation is never done here."""
    plain = responses_to_chat({"model": "m", "input": "q", "reasoning": {"effort": "low"}}, upstream_model=MODEL)
    hinted = responses_to_chat({"model": "m", "input": "q", **HINTS}, upstream_model=MODEL)
    assert hinted.body == plain.body
    assert hinted.echo["truncation"] == "disabled"
    assert hinted.echo["store"] is False  # nothing was asked to be kept by the translator's caller
