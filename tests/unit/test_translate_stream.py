"""Upstream chat.completion.chunk stream -> Anthropic SSE events.

Every stream is checked by ``accumulate``, which enforces the wire rules (message_start first, one open
block at a time, dense indexes from 0, no empty deltas, message_delta after the last block, message_stop
last) and builds the final message the way the anthropic SDK does. A few tests also run the real SDK's
``accumulate_event`` over the events.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ob1_gateway.translate.anthropic.anthropic_in import ChatPlan, anthropic_to_chat
from ob1_gateway.translate.anthropic.anthropic_stream import AnthropicStream
from ob1_gateway.translate.sse import SSEDecoder
from ob1_gateway.translate.token_usage import Usage

LONG = "mcp__a_very_long_server_name__and_an_even_longer_tool_name_that_goes_past_64"
Event = tuple[str, dict[str, Any]]


# -- helpers --------------------------------------------------------------------------------------


def make_plan(stop_sequences: list[str] | None = None, tools: list[str] = ("f", "g", "h", LONG)) -> ChatPlan:  # type: ignore[assignment]
    r: dict[str, Any] = {
        "model": "claude-client-name",
        "max_tokens": 100,
        "stream": True,
        "messages": [{"role": "user", "content": "q"}],
        "tools": [{"name": n, "input_schema": {"type": "object"}} for n in tools],
    }
    if stop_sequences:
        r["stop_sequences"] = stop_sequences
    return anthropic_to_chat(r, upstream_model="anthropic/claude-sonnet-4.6")


PLAN = make_plan()
SHORT = PLAN.tool_names.shorten(LONG)


def delta_chunk(delta: dict[str, Any], finish: str | None = None, **choice: Any) -> dict[str, Any]:
    return {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, **choice}],
    }


def text(s: str) -> dict[str, Any]:
    return delta_chunk({"content": s})


def reason(s: str, signature: str | None = None, details: bool = True) -> dict[str, Any]:
    d: dict[str, Any] = {"reasoning": s}
    if details:
        entry: dict[str, Any] = {
            "type": "reasoning.text",
            "text": s,
            "format": "anthropic-claude-v1",
            "index": 0,
        }
        if signature is not None:
            entry["signature"] = signature
        d["reasoning_details"] = [entry]
    return delta_chunk(d)


def tool(index: int, *, id: str | None = None, name: str | None = None, args: str | None = None) -> dict[str, Any]:
    return delta_chunk({"tool_calls": [tc(index, id=id, name=name, args=args)]})


def tc(index: int | None, *, id: str | None = None, name: str | None = None, args: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"type": "function", "function": {}}
    if index is not None:
        call["index"] = index
    if id is not None:
        call["id"] = id
    if name is not None:
        call["function"]["name"] = name
    if args is not None:
        call["function"]["arguments"] = args
    return call


def finish(reason_: str | None = "stop", **choice: Any) -> dict[str, Any]:
    return delta_chunk({}, reason_, **choice)


def usage_chunk(prompt: int = 100, completion: int = 20, cached: int = 60, write: int = 30, cost: float = 0.01) -> dict:
    return {
        "id": "gen-1",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "cache_write_tokens": write,
            "cost": cost,
        },
    }


def run(chunks: list[dict[str, Any]], plan: ChatPlan = PLAN, estimate: int = 0) -> tuple[list[Event], AnthropicStream]:
    s = AnthropicStream(plan, message_id="msg_test", input_tokens_estimate=estimate)
    events = s.start()
    for c in chunks:
        events += s.feed(c)
    events += s.finish()
    return events, s


def accumulate(events: list[Event]) -> dict[str, Any]:
    """Strictly validate the event sequence and accumulate it like the anthropic SDK."""
    assert events and events[0][0] == "message_start"
    msg = copy.deepcopy(events[0][1]["message"])
    assert msg["content"] == [] and msg["stop_reason"] is None and msg["type"] == "message"
    open_index: int | None = None
    json_buf: dict[int, str] = {}
    state = "blocks"
    for name, data in events[1:]:
        assert data["type"] == name, (name, data)
        assert state != "stopped", f"{name} after message_stop"
        if name == "ping":
            continue
        if name == "error":
            msg["error"] = data["error"]
            state = "stopped"
            continue
        if name == "content_block_start":
            assert state == "blocks" and open_index is None, "block opened while another is open"
            assert data["index"] == len(msg["content"]), "indexes must be dense from 0"
            open_index = data["index"]
            msg["content"].append(copy.deepcopy(data["content_block"]))
        elif name == "content_block_delta":
            assert data["index"] == open_index, "delta for a block that is not open"
            block, delta = msg["content"][open_index], data["delta"]
            if delta["type"] == "text_delta":
                assert block["type"] == "text" and delta["text"] != ""
                block["text"] += delta["text"]
            elif delta["type"] == "input_json_delta":
                assert block["type"] == "tool_use" and delta["partial_json"] != ""
                json_buf[open_index] = json_buf.get(open_index, "") + delta["partial_json"]
            elif delta["type"] == "thinking_delta":
                assert block["type"] == "thinking" and delta["thinking"] != ""
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                assert block["type"] == "thinking" and delta["signature"] != ""
                block["signature"] = delta["signature"]
            else:
                raise AssertionError(f"unknown delta {delta}")
        elif name == "content_block_stop":
            assert data["index"] == open_index
            block = msg["content"][open_index]
            if block["type"] == "tool_use" and open_index in json_buf:
                block["input"] = json.loads(json_buf[open_index])
            open_index = None
        elif name == "message_delta":
            assert state == "blocks" and open_index is None
            msg["stop_reason"] = data["delta"]["stop_reason"]
            msg["stop_sequence"] = data["delta"]["stop_sequence"]
            msg["usage"].update(data["usage"])
            state = "delta"
        elif name == "message_stop":
            assert state == "delta", "message_stop without message_delta"
            state = "stopped"
        else:
            raise AssertionError(f"unknown event {name}")
    assert state == "stopped", "stream did not end with message_stop or error"
    return msg


def sdk_accumulate(events: list[Event]) -> dict[str, Any]:
    """Accumulate with the anthropic SDK's own code (a private helper: skip if a future SDK moves it)."""
    try:
        from anthropic.lib.streaming._messages import accumulate_event
    except ImportError:  # pragma: no cover
        pytest.skip("anthropic SDK accumulate_event not available")
    snapshot = None
    bufs: dict[int, bytes] = {}
    for _, data in events:
        if data["type"] in ("ping", "error"):
            continue
        snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs=bufs)  # type: ignore[arg-type]
    assert snapshot is not None
    return snapshot.to_dict()


def content_of(chunks: list[dict[str, Any]], plan: ChatPlan = PLAN) -> list[dict[str, Any]]:
    return accumulate(run(chunks, plan)[0])["content"]


def T(s: str) -> dict[str, Any]:
    return {"type": "text", "text": s}


def TH(s: str, sig: str = "") -> dict[str, Any]:
    return {"type": "thinking", "thinking": s, "signature": sig}


def TU(id: str, name: str, inp: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": id, "name": name, "input": inp}


# -- table: chunks -> accumulated content -------------------------------------------------------

STREAM_CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    ("text", [text("Hel"), text("lo"), finish()], [T("Hello")]),
    (
        "role_and_null_content_tolerated",
        [delta_chunk({"role": "assistant", "content": None}), text("a"), finish()],
        [T("a")],
    ),
    ("empty_text_skipped", [text(""), text("a"), text(""), finish()], [T("a")]),
    (
        "chunk_without_choices_or_delta",
        [{"id": "x"}, {"choices": [{"index": 0}]}, {"choices": [{}]}, text("a"), finish()],
        [T("a")],
    ),
    (
        "provider_fields_tolerated",
        [{**text("a"), "provider": "Anthropic"}, finish("stop", native_finish_reason="end_turn")],
        [T("a")],
    ),
    ("reasoning_then_text", [reason("th"), reason("ink"), text("ok"), finish()], [TH("think"), T("ok")]),
    ("reasoning_string_only", [reason("hm", details=False), text("ok"), finish()], [TH("hm"), T("ok")]),
    (
        "reasoning_content_field",
        [delta_chunk({"reasoning_content": "rc"}), text("ok"), finish()],
        [TH("rc"), T("ok")],
    ),
    (
        "signature_in_last_detail",
        [reason("a"), reason("b"), reason("", "SIG"), text("ok"), finish()],
        [TH("ab", "SIG"), T("ok")],
    ),
    (
        "signature_with_text",
        [reason("a"), reason("b", "SIG"), text("ok"), finish()],
        [TH("ab", "SIG"), T("ok")],
    ),
    ("no_signature_never_invented", [reason("a"), text("ok"), finish()], [TH("a", ""), T("ok")]),
    (
        "encrypted_to_redacted_thinking",
        [
            delta_chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "ENC"}]}),
            text("ok"),
            finish(),
        ],
        [{"type": "redacted_thinking", "data": "ENC"}, T("ok")],
    ),
    (
        "thinking_after_signature_is_new_block",
        [reason("a", "S1"), reason("b"), finish()],
        [TH("a", "S1"), TH("b")],
    ),
    (
        "thinking_after_streamed_signature_is_new_block",
        [reason("a"), reason("", "S1"), reason("b"), finish()],
        [TH("a", "S1"), TH("b")],
    ),
    (
        "signed_thinking_buffered_behind_incomplete_tool",
        [
            tool(0, id="c1", name="f", args='{"a":'),
            reason("x"),
            reason("", "S"),
            reason("y"),
            tool(0, args="1}"),
            finish(),
        ],
        [TU("c1", "f", {"a": 1}), TH("x", "S"), TH("y")],
    ),
    (
        "single_tool_fragments",
        [
            tool(0, id="c1", name="f", args=""),
            tool(0, args='{"a"'),
            tool(0, args=":1}"),
            finish("tool_calls"),
        ],
        [TU("c1", "f", {"a": 1})],
    ),
    (
        "name_and_args_in_one_chunk",
        [tool(0, id="c1", name="f", args='{"a":1}'), finish("tool_calls")],
        [TU("c1", "f", {"a": 1})],
    ),
    ("tool_without_args", [tool(0, id="c1", name="f"), finish("tool_calls")], [TU("c1", "f", {})]),
    (
        "sequential_parallel_tools",
        [
            tool(0, id="c1", name="f", args='{"a":1}'),
            tool(1, id="c2", name="g", args='{"b":'),
            tool(1, args="2}"),
            finish("tool_calls"),
        ],
        [TU("c1", "f", {"a": 1}), TU("c2", "g", {"b": 2})],
    ),
    (
        "interleaved_parallel_tools_not_merged",
        [
            tool(0, id="c1", name="f", args=""),
            tool(1, id="c2", name="g", args=""),
            tool(0, args='{"a":'),
            tool(1, args='{"b":'),
            tool(0, args='"x"}'),
            tool(1, args='"y"}'),
            finish("tool_calls"),
        ],
        [TU("c1", "f", {"a": "x"}), TU("c2", "g", {"b": "y"})],
    ),
    (
        "interleaved_in_one_chunk",
        [
            delta_chunk(
                {
                    "tool_calls": [
                        tc(0, id="c1", name="f", args='{"a":'),
                        tc(1, id="c2", name="g", args='{"b":'),
                    ]
                }
            ),
            delta_chunk({"tool_calls": [tc(1, args="2}"), tc(0, args="1}")]}),
            finish("tool_calls"),
        ],
        [TU("c1", "f", {"a": 1}), TU("c2", "g", {"b": 2})],
    ),
    (
        "three_tools_second_incomplete_when_third_starts",
        [
            tool(0, id="c1", name="f", args="{}"),
            tool(1, id="c2", name="g", args='{"b":'),
            tool(2, id="c3", name="h", args='{"c":3}'),
            tool(1, args="2}"),
            finish("tool_calls"),
        ],
        [TU("c1", "f", {}), TU("c2", "g", {"b": 2}), TU("c3", "h", {"c": 3})],
    ),
    (
        "same_index_reused_with_new_id_is_a_new_call",
        [
            tool(0, id="c1", name="f", args='{"a":1}'),
            tool(0, id="c2", name="g", args='{"b":2}'),
            finish("tool_calls"),
        ],
        [TU("c1", "f", {"a": 1}), TU("c2", "g", {"b": 2})],
    ),
    (
        "id_repeated_in_every_chunk",
        [
            tool(0, id="c1", name="f", args='{"a":'),
            tool(0, id="c1", name="f", args="1}"),
            finish("tool_calls"),
        ],
        [TU("c1", "f", {"a": 1})],
    ),
    (
        "tool_calls_without_index_keyed_by_id_then_last",
        [
            delta_chunk({"tool_calls": [tc(None, id="c1", name="f", args='{"a":')]}),
            delta_chunk({"tool_calls": [tc(None, args="1}")]}),
            delta_chunk({"tool_calls": [tc(None, id="c2", name="g", args="{}")]}),
            finish("tool_calls"),
        ],
        [TU("c1", "f", {"a": 1}), TU("c2", "g", {})],
    ),
    (
        "garbage_index_treated_as_missing",  # an unhashable index raised TypeError before tool_calls.ToolCalls
        [
            delta_chunk({"tool_calls": [{**tc(None, id="c1", name="f", args='{"a":'), "index": {"x": 1}}]}),
            delta_chunk({"tool_calls": [{**tc(None, args="1}"), "index": [0]}]}),
            finish("tool_calls"),
        ],
        [TU("c1", "f", {"a": 1})],
    ),
    (
        "name_arrives_after_id",
        [tool(0, id="c1", args=""), tool(0, name="f", args='{"a":1}'), finish("tool_calls")],
        [TU("c1", "f", {"a": 1})],
    ),
    (
        "missing_tool_id_generated",
        [tool(0, name="f", args="{}"), finish("tool_calls")],
        [TU("toolu_test_0", "f", {})],
    ),
    (
        "long_tool_name_restored",
        [tool(0, id="c1", name=SHORT, args="{}"), finish("tool_calls")],
        [TU("c1", LONG, {})],
    ),
    (
        "text_then_tool",
        [text("let me"), tool(0, id="c1", name="f", args="{}"), finish("tool_calls")],
        [T("let me"), TU("c1", "f", {})],
    ),
    (
        "text_after_tool_is_new_block",
        [text("a"), tool(0, id="c1", name="f", args="{}"), text("b"), text("c"), finish("tool_calls")],
        [T("a"), TU("c1", "f", {}), T("bc")],
    ),
    (
        "text_after_incomplete_tool_waits_for_it",
        [
            tool(0, id="c1", name="f", args='{"a":'),
            text("b"),
            tool(0, args="1}"),
            text("c"),
            finish("tool_calls"),
        ],
        [TU("c1", "f", {"a": 1}), T("bc")],
    ),
    (
        "whitespace_after_complete_tool_dropped",
        [
            tool(0, id="c1", name="f", args="{}"),
            tool(1, id="c2", name="g", args="{}"),
            tool(0, args=" "),
            finish("tool_calls"),
        ],
        [TU("c1", "f", {}), TU("c2", "g", {})],
    ),
    (
        "all_kinds_in_one_delta_ordered_thinking_text_tool",
        [
            delta_chunk(
                {
                    "reasoning": "r",
                    "reasoning_details": [{"type": "reasoning.text", "text": "r", "signature": "S"}],
                    "content": "t",
                    "tool_calls": [tc(0, id="c1", name="f", args="{}")],
                }
            ),
            finish("tool_calls"),
        ],
        [TH("r", "S"), T("t"), TU("c1", "f", {})],
    ),
    ("refusal_delta_as_text", [delta_chunk({"refusal": "no"}), finish("content_filter")], [T("no")]),
]


@pytest.mark.parametrize(("chunks", "expected"), [c[1:] for c in STREAM_CASES], ids=[c[0] for c in STREAM_CASES])
def test_stream_content(chunks: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    events, _ = run(chunks)
    assert accumulate(events)["content"] == expected
    sdk = sdk_accumulate(events)
    assert [b["type"] for b in sdk["content"]] == [b["type"] for b in expected]
    for got, want in zip(sdk["content"], expected, strict=True):
        if want["type"] == "tool_use":
            assert got["input"] == want["input"]


STOP_CASES = [
    ("stop", [text("a"), finish("stop")], None, ("end_turn", None)),
    ("length", [text("a"), finish("length")], None, ("max_tokens", None)),
    ("tool_calls", [tool(0, id="c", name="f", args="{}"), finish("tool_calls")], None, ("tool_use", None)),
    ("tools_but_stop", [tool(0, id="c", name="f", args="{}"), finish("stop")], None, ("tool_use", None)),
    ("content_filter", [text("a"), finish("content_filter")], None, ("refusal", None)),
    (
        "native_stop_sequence",
        [text("a"), finish("stop", native_finish_reason="stop_sequence")],
        ["END"],
        ("stop_sequence", "END"),
    ),
    ("stop_reason_string", [text("a"), finish("stop", stop_reason="B")], ["A", "B"], ("stop_sequence", "B")),
    ("no_finish_reason_with_content", [text("a")], None, ("end_turn", None)),
    ("no_finish_reason_with_tool", [tool(0, id="c", name="f", args="{}")], None, ("tool_use", None)),
]


@pytest.mark.parametrize(("chunks", "stops", "expected"), [c[1:] for c in STOP_CASES], ids=[c[0] for c in STOP_CASES])
def test_stream_stop_reason(chunks: list[dict], stops: list[str] | None, expected: tuple) -> None:
    events, s = run(chunks, make_plan(stop_sequences=stops))
    msg = accumulate(events)
    assert (msg["stop_reason"], msg["stop_sequence"]) == expected
    assert (s.stop_reason, s.stop_sequence) == expected
    assert s.finished


# -- event-level behaviour ------------------------------------------------------------------------


def test_message_start_shape_and_initial_ping() -> None:
    s = AnthropicStream(PLAN, message_id="msg_1", input_tokens_estimate=42)
    events = s.start()
    assert events == [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-client-name",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": 42,
                        "output_tokens": 0,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                    },
                },
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    assert s.start() == []
    assert s.ping() == ("ping", {"type": "ping"})


def test_name_and_arguments_in_one_chunk_keeps_both() -> None:
    """Known failure of other translators: the final input is {} when name and arguments share a chunk."""
    s = AnthropicStream(PLAN, message_id="msg_1")
    s.start()
    events = s.feed(tool(0, id="c1", name="f", args='{"path":"/tmp/x"}'))
    assert events == [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "c1", "name": "f", "input": {}},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": '{"path":"/tmp/x"}'},
            },
        ),
    ]


def test_arguments_forwarded_as_raw_fragments_without_delay() -> None:
    s = AnthropicStream(PLAN, message_id="msg_1")
    s.start()
    s.feed(tool(0, id="c1", name="f", args=""))
    fragments = ['{"co', 'mmand": "l', 's -la"', "}"]
    for frag in fragments:
        assert s.feed(tool(0, args=frag)) == [
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": frag},
                },
            )
        ]


def test_text_after_tool_gets_next_index_not_tool_index() -> None:
    """Known failure: text after a tool block emitted at the tool's index."""
    events, _ = run([text("a"), tool(0, id="c1", name="f", args="{}"), text("b"), finish("tool_calls")])
    text_deltas = [d["index"] for n, d in events if n == "content_block_delta" and d["delta"]["type"] == "text_delta"]
    assert text_deltas == [0, 2]


def test_interleaved_tools_buffered_then_flushed_in_order() -> None:
    """Known failure: merged parallel tool arguments."""
    events, _ = run(
        [
            tool(0, id="c1", name="f", args='{"a":'),
            tool(1, id="c2", name="g", args='{"b":'),
            tool(0, args="1}"),
            tool(1, args="2}"),
            finish("tool_calls"),
        ]
    )
    json_by_index: dict[int, str] = {}
    for n, d in events:
        if n == "content_block_delta":
            json_by_index[d["index"]] = json_by_index.get(d["index"], "") + d["delta"]["partial_json"]
    assert json_by_index == {0: '{"a":1}', 1: '{"b":2}'}


def test_message_delta_held_until_finish_and_carries_full_usage() -> None:
    """Known failures: usage missing from message_delta, cache tokens reported as 0."""
    s = AnthropicStream(PLAN, message_id="msg_1", input_tokens_estimate=5)
    s.start()
    assert all(n != "message_delta" for n, _ in s.feed(text("a")))
    assert all(n != "message_delta" for n, _ in s.feed(finish("stop")))
    assert s.feed(usage_chunk(prompt=100, completion=20, cached=60, write=30, cost=0.25)) == []
    assert s.usage == Usage(100, 20, 60, 30, 0.25)
    events = s.finish()
    assert [n for n, _ in events] == ["content_block_stop", "message_delta", "message_stop"]
    assert events[1][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {
            "output_tokens": 20,
            "input_tokens": 10,
            "cache_creation_input_tokens": 30,
            "cache_read_input_tokens": 60,
        },
    }
    assert s.finish() == [] and s.feed(text("late")) == []


def test_usage_in_same_chunk_as_finish_reason() -> None:
    chunk = finish("stop")
    chunk["usage"] = usage_chunk(prompt=7, completion=3, cached=0, write=0)["usage"]
    msg = accumulate(run([text("a"), chunk])[0])
    assert msg["usage"] == {
        "input_tokens": 7,
        "output_tokens": 3,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def test_no_usage_reports_estimate_and_zero_cache_fields() -> None:
    msg = accumulate(run([text("a"), finish()], estimate=33)[0])
    assert msg["usage"] == {
        "input_tokens": 33,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def test_signature_delta_only_for_real_signature() -> None:
    """Known failure: invented signatures."""
    events, _ = run([reason("a"), reason("b"), text("t"), finish()])
    assert not any(d.get("delta", {}).get("type") == "signature_delta" for _, d in events)
    events, _ = run([reason("a"), reason("", "REAL"), text("t"), finish()])
    sigs = [d["delta"]["signature"] for _, d in events if d.get("delta", {}).get("type") == "signature_delta"]
    assert sigs == ["REAL"]


def test_reasoning_not_doubled_when_both_fields_present() -> None:
    events, _ = run([reason("x"), finish()])
    deltas = [d["delta"]["thinking"] for _, d in events if d.get("delta", {}).get("type") == "thinking_delta"]
    assert deltas == ["x"]


def test_no_empty_deltas_ever() -> None:
    events, _ = run(
        [
            text(""),
            reason(""),
            tool(0, id="c", name="f", args=""),
            tool(0, args=""),
            tool(0, args="{}"),
            text(""),
            finish("tool_calls"),
        ]
    )
    for n, d in events:
        if n == "content_block_delta":
            assert next(v for k, v in d["delta"].items() if k != "type") != ""


def test_upstream_error_chunk_becomes_error_event() -> None:
    s = AnthropicStream(PLAN, message_id="msg_1")
    s.start()
    s.feed(text("partial"))
    events = s.feed(
        {
            "error": {"message": "Overloaded", "code": 529},
            "choices": [{"delta": {}, "finish_reason": "error"}],
        }
    )
    assert events == [("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})]
    assert s.finished and s.feed(text("x")) == [] and s.finish() == []


def test_finish_reason_error_without_error_object_fails() -> None:
    events, _ = run([text("a"), finish("error")])
    assert events[-1][0] == "error" and events[-1][1]["error"]["type"] == "api_error"
    accumulate(events)


def test_fail_mid_stream() -> None:
    s = AnthropicStream(PLAN, message_id="msg_1")
    s.start()
    s.feed(text("a"))
    assert s.fail(504, "upstream timed out") == [
        ("error", {"type": "error", "error": {"type": "timeout_error", "message": "upstream timed out"}})
    ]
    assert s.fail(500, "again") == []


def test_empty_stream_without_finish_is_an_error() -> None:
    events, s = run([{"choices": [], "usage": None}])
    assert [n for n, _ in events] == ["message_start", "ping", "error"]
    assert s.stop_reason is None


def test_finish_reason_without_content_is_clean_end() -> None:
    msg = accumulate(run([finish("stop"), usage_chunk()])[0])
    assert msg["content"] == [] and msg["stop_reason"] == "end_turn"


def test_feed_without_start_emits_start_first() -> None:
    s = AnthropicStream(PLAN, message_id="msg_1")
    events = s.feed(text("a")) + s.finish()
    assert events[0][0] == "message_start"
    accumulate(events)


# -- realistic OpenRouter stream through the SSE decoder -------------------------------------------


def openrouter_bytes() -> bytes:
    def frame(chunk: dict[str, Any]) -> str:
        return (
            "data: "
            + json.dumps({"id": "gen-1", "provider": "Anthropic", "model": "anthropic/claude-sonnet-4.6", **chunk})
            + "\n\n"
        )

    def d(delta: dict[str, Any], fin: str | None = None, native: str | None = None) -> str:
        choice: dict[str, Any] = {
            "index": 0,
            "delta": delta,
            "finish_reason": fin,
            "native_finish_reason": native,
            "logprobs": None,
        }
        return frame({"object": "chat.completion.chunk", "choices": [choice]})

    parts = [
        ": OPENROUTER PROCESSING\n\n",
        ": OPENROUTER PROCESSING\n\n",
        d({"role": "assistant", "content": ""}),
        d(
            {
                "role": "assistant",
                "content": None,
                "reasoning": "Let me ",
                "reasoning_details": [
                    {"type": "reasoning.text", "text": "Let me ", "format": "anthropic-claude-v1", "index": 0}
                ],
            }
        ),
        d(
            {
                "role": "assistant",
                "content": None,
                "reasoning": "think.",
                "reasoning_details": [
                    {"type": "reasoning.text", "text": "think.", "format": "anthropic-claude-v1", "index": 0}
                ],
            }
        ),
        d(
            {
                "role": "assistant",
                "content": None,
                "reasoning": "",
                "reasoning_details": [
                    {
                        "type": "reasoning.text",
                        "signature": "EqQBCkYIBRgCKkD",
                        "format": "anthropic-claude-v1",
                        "index": 0,
                    }
                ],
            }
        ),
        ": OPENROUTER PROCESSING\n\n",
        d({"role": "assistant", "content": "I'll check "}),
        d({"role": "assistant", "content": "both."}),
        d(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "toolu_01",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ],
            }
        ),
        d(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "toolu_02",
                        "type": "function",
                        "function": {"name": SHORT, "arguments": ""},
                    }
                ],
            }
        ),
        d(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"index": 0, "type": "function", "function": {"arguments": '{"city": '}}],
            }
        ),
        d(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"index": 1, "type": "function", "function": {"arguments": '{"tz": "Eu'}}],
            }
        ),
        d(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"index": 0, "type": "function", "function": {"arguments": '"Paris"}'}}],
            }
        ),
        d(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"index": 1, "type": "function", "function": {"arguments": 'rope/Paris"}'}}],
            }
        ),
        d(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 2,
                        "id": "toolu_03",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": '{"fmt": "iso"}'},
                    }
                ],
            }
        ),
        d({"role": "assistant", "content": "Done."}),
        d({"role": "assistant", "content": ""}, "tool_calls", "tool_use"),
        ": OPENROUTER PROCESSING\n\n",
        frame(
            {
                "object": "chat.completion.chunk",
                "choices": [],
                "usage": {
                    "prompt_tokens": 1200,
                    "completion_tokens": 85,
                    "total_tokens": 1285,
                    "cost": 0.00123,
                    "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 150},
                    "completion_tokens_details": {"reasoning_tokens": 10},
                },
            }
        ),
        "data: [DONE]\n\n",
    ]
    return "".join(parts).encode()


EXPECTED_REALISTIC = [
    TH("Let me think.", "EqQBCkYIBRgCKkD"),
    T("I'll check both."),
    TU("toolu_01", "get_weather", {"city": "Paris"}),
    TU("toolu_02", LONG, {"tz": "Europe/Paris"}),
    TU("toolu_03", "get_time", {"fmt": "iso"}),
    T("Done."),
]


def feed_sse(raw_chunks: list[bytes], plan: ChatPlan = PLAN) -> tuple[list[Event], AnthropicStream]:
    dec = SSEDecoder()
    s = AnthropicStream(plan, message_id="msg_real", input_tokens_estimate=900)
    events = s.start()
    done = False
    for raw in raw_chunks:
        for ev in dec.feed(raw):
            if ev.data == "[DONE]":
                done = True
                continue
            assert not done
            events += s.feed(json.loads(ev.data))
    for ev in dec.flush():
        assert ev.data == "[DONE]"
    events += s.finish()
    return events, s


def test_realistic_openrouter_stream() -> None:
    raw = openrouter_bytes()
    events, s = feed_sse([raw[i : i + 7] for i in range(0, len(raw), 7)])
    msg = accumulate(events)
    assert msg["content"] == EXPECTED_REALISTIC
    assert msg["stop_reason"] == "tool_use" and msg["stop_sequence"] is None
    assert msg["usage"] == {
        "input_tokens": 50,
        "output_tokens": 85,
        "cache_creation_input_tokens": 150,
        "cache_read_input_tokens": 1000,
    }
    assert s.usage.cost_usd == pytest.approx(0.00123)
    assert msg["id"] == "msg_real" and msg["model"] == "claude-client-name"
    # the real anthropic SDK accumulates the same message
    sdk = sdk_accumulate(events)
    assert sdk["content"] == EXPECTED_REALISTIC
    assert sdk["stop_reason"] == "tool_use"
    assert sdk["usage"]["cache_read_input_tokens"] == 1000 and sdk["usage"]["cache_creation_input_tokens"] == 150


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 64), min_size=1, max_size=200))
def test_property_realistic_stream_any_byte_split(sizes: list[int]) -> None:
    raw = openrouter_bytes()
    chunks, pos = [], 0
    for n in sizes:
        chunks.append(raw[pos : pos + n])
        pos += n
    chunks.append(raw[pos:])
    assert accumulate(feed_sse(chunks)[0])["content"] == EXPECTED_REALISTIC


# -- property: any split of the same deltas gives the same message ---------------------------------

_json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
_json_obj = st.dictionaries(st.text(max_size=6), _json_value, max_size=4)


def _split(draw: st.DrawFn, s: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(0, len(s)), max_size=6)))
    out, prev = [], 0
    for c in [*cuts, len(s)]:
        out.append(s[prev:c])
        prev = c
    return out


@st.composite
def _scripts(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    thinking = draw(st.text(max_size=20))
    signature = draw(st.one_of(st.none(), st.text(alphabet="abcXYZ09+/", min_size=1, max_size=12)))
    before = draw(st.text(max_size=20))
    tools = [
        (f"call_{i}", draw(st.sampled_from(["f", "g", LONG])), draw(_json_obj)) for i in range(draw(st.integers(0, 3)))
    ]
    after = draw(st.text(max_size=20))

    chunks: list[dict[str, Any]] = []
    for frag in _split(draw, thinking):
        chunks.append(reason(frag, details=draw(st.booleans())))
    if signature is not None:
        chunks.append(reason("", signature))
    chunks += [text(frag) for frag in _split(draw, before)]

    # per-tool op queues: a header (maybe carrying the first fragment) then argument fragments
    queues: list[list[dict[str, Any]]] = []
    for i, (cid, name, obj) in enumerate(tools):
        frags = _split(draw, json.dumps(obj))
        wire_name = PLAN.tool_names.shorten(name)
        if draw(st.booleans()):
            ops = [tc(i, id=cid, name=wire_name, args=frags[0])] + [tc(i, args=f) for f in frags[1:]]
        else:
            ops = [tc(i, id=cid, name=wire_name, args="")] + [tc(i, args=f) for f in frags]
        queues.append(ops)
    # interleave, keeping each tool's order and starting tools in index order
    started = 0
    pending_calls: list[dict[str, Any]] = []
    while any(queues):
        choices = [i for i, q in enumerate(queues) if q and (i < started or i == started)]
        i = draw(st.sampled_from(choices))
        started = max(started, i + 1)
        pending_calls.append(queues[i].pop(0))
        if draw(st.booleans()):  # several tool_calls entries may share one chunk
            chunks.append(delta_chunk({"tool_calls": pending_calls}))
            pending_calls = []
    if pending_calls:
        chunks.append(delta_chunk({"tool_calls": pending_calls}))
    chunks += [text(frag) for frag in _split(draw, after)]
    chunks.append(finish("tool_calls" if tools else "stop"))
    chunks.append(usage_chunk())

    expected: list[dict[str, Any]] = []
    if thinking or signature:
        expected.append(TH(thinking, signature or ""))
    if tools:
        if before:
            expected.append(T(before))
        expected += [TU(cid, name, obj) for cid, name, obj in tools]
        if after:
            expected.append(T(after))
    elif before + after:
        expected.append(T(before + after))
    return chunks, expected


@settings(max_examples=400, deadline=None)
@given(_scripts())
def test_property_any_split_same_message(script: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    chunks, expected = script
    events, _ = run(chunks)
    msg = accumulate(events)  # also checks strict order and dense indexes
    assert msg["content"] == expected
    assert msg["stop_reason"] == ("tool_use" if any(b["type"] == "tool_use" for b in expected) else "end_turn")
    assert msg["usage"]["cache_read_input_tokens"] == 60 and msg["usage"]["cache_creation_input_tokens"] == 30
    starts = [d["index"] for n, d in events if n == "content_block_start"]
    assert starts == list(range(len(expected)))


@pytest.mark.parametrize(
    ("chunks", "failed_status"),
    [
        ([{"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "error"}]}], 502),
        ([{"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]}], None),
    ],
)
def test_failed_status_tells_the_relay_how_the_stream_ended(chunks: list[dict], failed_status: int | None) -> None:
    stream = AnthropicStream(ChatPlan(body={}, model="m"), message_id="msg_1")
    events = stream.start()
    for chunk in chunks:
        events += stream.feed(chunk)
    events += stream.finish()
    assert stream.failed_status == failed_status
    assert (events[-1][0] == "error") is (failed_status is not None)
