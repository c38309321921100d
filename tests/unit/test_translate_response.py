"""chat.completion -> Anthropic message (non-stream), table-driven."""

from __future__ import annotations

from typing import Any

import pytest
from ob1_gateway.translate.answers.finish import stop_reason_for
from ob1_gateway.translate.anthropic.anthropic_in import anthropic_to_chat
from ob1_gateway.translate.anthropic.anthropic_out import chat_to_anthropic, parse_arguments
from ob1_gateway.translate.token_usage import Usage

LONG = "mcp__a_very_long_server_name__and_an_even_longer_tool_name_that_goes_past_64"


def plan(stop_sequences: list[str] | None = None, tools: list[str] | None = None):  # type: ignore[no-untyped-def]
    r: dict[str, Any] = {
        "model": "claude-x",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "q"}],
    }
    if stop_sequences:
        r["stop_sequences"] = stop_sequences
    if tools:
        r["tools"] = [{"name": n, "input_schema": {"type": "object"}} for n in tools]
    return anthropic_to_chat(r, upstream_model="anthropic/claude-sonnet-4.6")


def resp(message: dict[str, Any], finish: str | None = "stop", usage: dict | None = None, **choice: Any) -> dict:
    return {
        "id": "gen-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish, **choice}],
        "usage": usage,
    }


def call(i: str, name: str, args: str) -> dict[str, Any]:
    return {"id": i, "type": "function", "function": {"name": name, "arguments": args}}


CONTENT_CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    ("text", resp({"content": "hello"}), [{"type": "text", "text": "hello"}]),
    ("null_content", resp({"content": None}), []),
    ("empty_content_no_block", resp({"content": ""}), []),
    (
        "content_parts_list",
        resp({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}),
        [{"type": "text", "text": "ab"}],
    ),
    ("refusal_as_text", resp({"content": None, "refusal": "I can't"}), [{"type": "text", "text": "I can't"}]),
    (
        "order_thinking_text_tool",
        resp(
            {
                "content": "ok",
                "reasoning": "think",
                "tool_calls": [call("c1", "f", '{"a":1}')],
            },
            "tool_calls",
        ),
        [
            {"type": "thinking", "thinking": "think", "signature": ""},
            {"type": "text", "text": "ok"},
            {"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}},
        ],
    ),
    (
        "reasoning_details_signature_preferred_over_reasoning_no_duplicate",
        resp(
            {
                "content": "ok",
                "reasoning": "think",
                "reasoning_details": [
                    {
                        "type": "reasoning.text",
                        "text": "think",
                        "signature": "SIG",
                        "format": "anthropic-claude-v1",
                    }
                ],
            }
        ),
        [{"type": "thinking", "thinking": "think", "signature": "SIG"}, {"type": "text", "text": "ok"}],
    ),
    (
        "reasoning_details_fragments_merged_until_signature",
        resp(
            {
                "content": "ok",
                "reasoning_details": [
                    {"type": "reasoning.text", "text": "a"},
                    {"type": "reasoning.text", "text": "b", "signature": "S1"},
                    {"type": "reasoning.encrypted", "data": "ENC"},
                    {"type": "reasoning.text", "text": "c"},
                ],
            }
        ),
        [
            {"type": "thinking", "thinking": "ab", "signature": "S1"},
            {"type": "redacted_thinking", "data": "ENC"},
            {"type": "thinking", "thinking": "c", "signature": ""},
            {"type": "text", "text": "ok"},
        ],
    ),
    (
        "reasoning_summary",
        resp({"content": "ok", "reasoning_details": [{"type": "reasoning.summary", "summary": "sum"}]}),
        [{"type": "thinking", "thinking": "sum", "signature": ""}, {"type": "text", "text": "ok"}],
    ),
    (
        "parallel_tool_calls",
        resp(
            {"content": None, "tool_calls": [call("c1", "f", '{"a":1}'), call("c2", "g", '{"b":[2]}')]},
            "tool_calls",
        ),
        [
            {"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}},
            {"type": "tool_use", "id": "c2", "name": "g", "input": {"b": [2]}},
        ],
    ),
    (
        "empty_arguments",
        resp({"tool_calls": [call("c1", "f", "")]}, "tool_calls"),
        [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}],
    ),
    (
        "invalid_arguments_kept_raw",
        resp({"tool_calls": [call("c1", "f", '{"a":')]}, "tool_calls"),
        [{"type": "tool_use", "id": "c1", "name": "f", "input": {"_raw": '{"a":'}}],
    ),
]


@pytest.mark.parametrize(("response", "expected"), [c[1:] for c in CONTENT_CASES], ids=[c[0] for c in CONTENT_CASES])
def test_content(response: dict, expected: list) -> None:
    body, _ = chat_to_anthropic(response, plan())
    assert body["content"] == expected


def test_long_tool_name_restored() -> None:
    p = plan(tools=[LONG])
    short = p.body["tools"][0]["function"]["name"]
    body, _ = chat_to_anthropic(resp({"tool_calls": [call("c1", short, "{}")]}, "tool_calls"), p)
    assert body["content"][0]["name"] == LONG


def test_message_envelope_and_usage() -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 9,
        "prompt_tokens_details": {"cached_tokens": 70},
        "cache_write_tokens": 20,
        "cost": 0.5,
    }
    body, u = chat_to_anthropic(resp({"content": "x"}, usage=usage), plan(), message_id="msg_abc")
    assert body == {
        "id": "msg_abc",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [{"type": "text", "text": "x"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "output_tokens": 9,
            "cache_creation_input_tokens": 20,
            "cache_read_input_tokens": 70,
        },
    }
    assert u == Usage(100, 9, 70, 20, 0.5)


def test_usage_missing_still_has_cache_fields_and_id_generated() -> None:
    body, u = chat_to_anthropic({"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}]}, plan())
    assert body["usage"] == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    assert body["id"].startswith("msg_") and len(body["id"]) > 10
    assert u == Usage()


def test_no_choices_is_empty_end_turn() -> None:
    body, _ = chat_to_anthropic({"choices": []}, plan())
    assert body["content"] == [] and body["stop_reason"] == "end_turn"


STOP_CASES = [
    ("stop", resp({"content": "x"}, "stop"), None, ("end_turn", None)),
    ("length", resp({"content": "x"}, "length"), None, ("max_tokens", None)),
    ("tool_calls", resp({"tool_calls": [call("c", "f", "{}")]}, "tool_calls"), None, ("tool_use", None)),
    ("content_filter", resp({"content": "x"}, "content_filter"), None, ("refusal", None)),
    ("tools_but_finish_stop", resp({"tool_calls": [call("c", "f", "{}")]}, "stop"), None, ("tool_use", None)),
    ("null_finish", resp({"content": "x"}, None), None, ("end_turn", None)),
    (
        "native_stop_sequence_single",
        resp({"content": "x"}, "stop", native_finish_reason="stop_sequence"),
        ["END"],
        ("stop_sequence", "END"),
    ),
    (
        "native_stop_sequence_ambiguous",
        resp({"content": "x"}, "stop", native_finish_reason="stop_sequence"),
        ["A", "B"],
        ("stop_sequence", None),
    ),
    (
        "stop_reason_string_matches",
        resp({"content": "x"}, "stop", stop_reason="B"),
        ["A", "B"],
        ("stop_sequence", "B"),
    ),
    (
        "stop_reason_string_not_ours",
        resp({"content": "x"}, "stop", stop_reason="Z"),
        ["A", "B"],
        ("end_turn", None),
    ),
    (
        "native_end_turn",
        resp({"content": "x"}, "stop", native_finish_reason="end_turn"),
        ["A"],
        ("end_turn", None),
    ),
]


@pytest.mark.parametrize(("response", "stops", "expected"), [c[1:] for c in STOP_CASES], ids=[c[0] for c in STOP_CASES])
def test_stop_reason(response: dict, stops: list[str] | None, expected: tuple) -> None:
    body, _ = chat_to_anthropic(response, plan(stop_sequences=stops))
    assert (body["stop_reason"], body["stop_sequence"]) == expected


def test_stop_reason_for_length_wins_over_tools() -> None:
    assert stop_reason_for("length", had_tool_calls=True) == ("max_tokens", None)
    assert stop_reason_for("stop", native="refusal") == ("refusal", None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ("  ", {}),
        (None, {}),
        ('{"a":1}', {"a": 1}),
        ("[1]", {"_raw": "[1]"}),
        ("nope", {"_raw": "nope"}),
        ({"a": 1}, {"a": 1}),
    ],
)
def test_parse_arguments(raw: Any, expected: dict) -> None:
    assert parse_arguments(raw) == expected
