"""chat.completion -> Responses ``Response`` (``responses_out``) and chunk stream -> Responses SSE events
(``responses_stream``).

Every stream is checked by ``check_wire`` (created/in_progress first, dense sequence numbers, one item
open at a time with dense output indexes, deltas only for the open item, no empty deltas, one terminal
event last), every event is validated against the openai SDK's own pydantic event types, and the SDK's
stream accumulator rebuilds the final response from the events.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ob1_gateway.translate.responses.responses_in import ResponsesPlan, decode_reasoning, responses_to_chat
from ob1_gateway.translate.responses.responses_out import chat_to_response, responses_usage
from ob1_gateway.translate.responses.responses_stream import ResponsesStream
from ob1_gateway.translate.sse import SSEDecoder, encode_sse
from ob1_gateway.translate.token_usage import Usage
from openai._models import validate_type
from openai.types.responses import Response, ResponseStreamEvent

LONG = "mcp__a_very_long_server_name__and_an_even_longer_tool_name_that_goes_past_64"
SIG = "c2lnbmF0dXJl"
Event = tuple[str, dict[str, Any]]


def make_plan(include_encrypted: bool = False, **extra: Any) -> ResponsesPlan:
    req: dict[str, Any] = {
        "model": "client-model",
        "input": "q",
        "tools": [{"type": "function", "name": n, "parameters": {"type": "object"}} for n in ("f", "g", LONG)],
        **extra,
    }
    if include_encrypted:
        req["include"] = ["reasoning.encrypted_content"]
    return responses_to_chat(req, upstream_model="anthropic/claude-sonnet-4.6")


PLAN = make_plan()
SHORT = PLAN.tools.names.shorten(LONG)


# -- non-stream -----------------------------------------------------------------------------------


def completion(message: dict[str, Any], finish: str = "stop", usage: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "gen-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def tc(call_id: str, name: str, args: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def shape(output: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Items reduced to what each case asserts (ids are random)."""
    out: list[tuple[Any, ...]] = []
    for item in output:
        if item["type"] == "message":
            part = item["content"][0]
            out.append(("message", item["status"], part["type"], part.get("text", part.get("refusal"))))
        elif item["type"] == "reasoning":
            out.append(("reasoning", [s["text"] for s in item["summary"]], "encrypted_content" in item))
        else:
            out.append(("function_call", item["call_id"], item["name"], item["arguments"], item["status"]))
    return out


NON_STREAM = [
    ("text", completion({"content": "hi"}), [("message", "completed", "output_text", "hi")], "completed", None),
    (
        "tool calls, names restored",
        completion({"content": None, "tool_calls": [tc("c1", "f", '{"a":1}'), tc("c2", SHORT, "{}")]}, "tool_calls"),
        [("function_call", "c1", "f", '{"a":1}', "completed"), ("function_call", "c2", LONG, "{}", "completed")],
        "completed",
        None,
    ),
    (
        "text then tool call",
        completion({"content": "let me", "tool_calls": [tc("c1", "g", "{}")]}, "tool_calls"),
        [("message", "completed", "output_text", "let me"), ("function_call", "c1", "g", "{}", "completed")],
        "completed",
        None,
    ),
    (
        "reasoning text becomes a summary item first",
        completion({"content": "42", "reasoning": "think"}),
        [("reasoning", ["think"], False), ("message", "completed", "output_text", "42")],
        "completed",
        None,
    ),
    (
        "reasoning_details preferred over reasoning",
        completion({"content": "42", "reasoning": "dup", "reasoning_details": [
            {"type": "reasoning.text", "text": "a"}, {"type": "reasoning.summary", "summary": "b"}]}),
        [("reasoning", ["ab"], False), ("message", "completed", "output_text", "42")],
        "completed",
        None,
    ),
    ("refusal", completion({"content": None, "refusal": "no"}), [("message", "completed", "refusal", "no")],
     "completed", None),
    (
        "length -> incomplete max_output_tokens",
        completion({"content": "cut"}, "length"),
        [("message", "incomplete", "output_text", "cut")],
        "incomplete",
        "max_output_tokens",
    ),
    (
        "content_filter -> incomplete content_filter",
        completion({"content": ""}, "content_filter"),
        [],
        "incomplete",
        "content_filter",
    ),
    ("content as a list of parts", completion({"content": [{"type": "text", "text": "p"}]}),
     [("message", "completed", "output_text", "p")], "completed", None),
    ("no choices", {"id": "x", "choices": []}, [], "completed", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("resp", "expected", "status", "reason"), [c[1:] for c in NON_STREAM], ids=[c[0] for c in NON_STREAM]
)
def test_non_stream_output(resp: dict[str, Any], expected: list[Any], status: str, reason: str | None) -> None:
    body, _ = chat_to_response(resp, PLAN, response_id="resp_1", created_at=5)
    assert shape(body["output"]) == expected
    assert body["status"] == status
    assert body["incomplete_details"] == ({"reason": reason} if reason else None)
    Response.model_validate(body)  # every field the SDK requires, with the SDK's types


def test_non_stream_envelope_ids_and_echo() -> None:
    plan = make_plan(instructions="i", temperature=0.3, parallel_tool_calls=False, tool_choice="required")
    resp = completion({"content": "hi", "tool_calls": [tc("c1", "f", "{}")]}, "tool_calls")
    body, _ = chat_to_response(resp, plan, response_id="resp_1", created_at=5)
    assert (body["id"], body["object"], body["created_at"], body["model"]) == ("resp_1", "response", 5, "client-model")
    assert body["output"][0]["id"].startswith("msg_") and body["output"][1]["id"].startswith("fc_")
    assert body["output"][0]["role"] == "assistant" and body["output"][0]["content"][0]["annotations"] == []
    assert (body["instructions"], body["temperature"], body["parallel_tool_calls"], body["tool_choice"]) == (
        "i", 0.3, False, "required")  # fmt: skip
    assert [t["name"] for t in body["tools"]] == ["f", "g", LONG] and body["error"] is None


def test_non_stream_signed_reasoning_only_when_included() -> None:
    message = {"content": "42", "reasoning_details": [
        {"type": "reasoning.text", "text": "t", "signature": SIG, "format": "anthropic-claude-v1"},
        {"type": "reasoning.encrypted", "data": "blob", "format": "anthropic-claude-v1"}]}  # fmt: skip
    plain, _ = chat_to_response(completion(message), PLAN)
    assert "encrypted_content" not in plain["output"][0]
    body, _ = chat_to_response(completion(message), make_plan(include_encrypted=True))
    details = decode_reasoning(body["output"][0]["encrypted_content"])
    assert [(d["type"], d.get("signature"), d.get("data")) for d in details] == [
        ("reasoning.text", SIG, None), ("reasoning.encrypted", None, "blob")]  # fmt: skip
    assert details[0]["text"] == "t" and details[0]["format"] == "anthropic-claude-v1"


USAGE_CASES = [
    ("missing", None, (0, 0, 0, 0, 0)),
    ("plain", {"prompt_tokens": 10, "completion_tokens": 4}, (10, 0, 4, 0, 14)),
    (
        "cached and reasoning tokens",
        {"prompt_tokens": 100, "completion_tokens": 30, "prompt_tokens_details": {"cached_tokens": 60},
         "completion_tokens_details": {"reasoning_tokens": 12}},
        (100, 60, 30, 12, 130),
    ),
    ("malformed", {"prompt_tokens": "x", "completion_tokens_details": {"reasoning_tokens": True}}, (0, 0, 0, 0, 0)),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in USAGE_CASES], ids=[c[0] for c in USAGE_CASES])
def test_usage_mapping(raw: Any, expected: tuple[int, ...]) -> None:
    u = responses_usage(raw)
    got = (u["input_tokens"], u["input_tokens_details"]["cached_tokens"], u["output_tokens"],
           u["output_tokens_details"]["reasoning_tokens"], u["total_tokens"])  # fmt: skip
    assert got == expected


def test_usage_cache_writes_reported_and_returned_for_metering() -> None:
    raw = {"prompt_tokens": 50, "completion_tokens": 5, "cache_write_tokens": 20, "cost": 0.01}
    body, usage = chat_to_response(completion({"content": "x"}, usage=raw), PLAN)
    assert body["usage"]["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 20}
    assert usage == Usage(prompt_tokens=50, completion_tokens=5, cache_write_tokens=20, cost_usd=0.01)
    assert responses_usage({"prompt_tokens": 1})["input_tokens_details"]["cache_write_tokens"] == 0


# -- stream ---------------------------------------------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    return {"id": "gen-1", "object": "chat.completion.chunk", "choices": [choice], **extra}


def text(s: str) -> dict[str, Any]:
    return chunk({"content": s})


def reason(s: str, signature: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"type": "reasoning.text", "text": s, "format": "anthropic-claude-v1"}
    if signature:
        detail["signature"] = signature
    return chunk({"reasoning": s, "reasoning_details": [detail]})


def tool(index: int, args: str = "", *, id: str | None = None, name: str | None = None) -> dict[str, Any]:
    fn: dict[str, Any] = {"arguments": args}
    if name is not None:
        fn["name"] = name
    call: dict[str, Any] = {"index": index, "type": "function", "function": fn}
    if id is not None:
        call["id"] = id
    return chunk({"tool_calls": [call]})


def usage_chunk(prompt: int = 20, completion: int = 7, cached: int = 0) -> dict[str, Any]:
    u = {"prompt_tokens": prompt, "completion_tokens": completion, "prompt_tokens_details": {"cached_tokens": cached}}
    return {"id": "gen-1", "object": "chat.completion.chunk", "choices": [], "usage": u}


def stop(reason_: str = "stop") -> dict[str, Any]:
    return chunk({}, reason_)


def run(
    chunks: list[dict[str, Any]], plan: ResponsesPlan = PLAN, *, fail: tuple[int, str] | None = None
) -> list[Event]:
    s = ResponsesStream(plan, response_id="resp_s", created_at=7)
    events = s.start()
    for c in chunks:
        events += s.feed(c)
    events += s.fail(*fail) if fail else s.finish()
    return events


_DELTAS = {
    "response.output_text.delta", "response.function_call_arguments.delta", "response.reasoning_summary_text.delta",
}  # fmt: skip
_TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def check_wire(events: list[Event]) -> None:
    names = [n for n, _ in events]
    assert names[:2] == ["response.created", "response.in_progress"]
    assert names[-1] in _TERMINAL and not _TERMINAL & set(names[:-1])
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    open_index, next_index = None, 0
    for name, data in events:
        assert data["type"] == name
        validate_type(type_=ResponseStreamEvent, value=data)  # the SDK's own event schema
        if name in _DELTAS:
            assert data["delta"], f"empty delta in {name}"
        if name == "response.output_item.added":
            assert open_index is None and data["output_index"] == next_index
            open_index, next_index = next_index, next_index + 1
        elif name == "response.output_item.done":
            assert data["output_index"] == open_index
            open_index = None
        elif "output_index" in data:
            assert data["output_index"] == open_index, name
    if names[-1] != "response.failed":
        assert open_index is None
        assert len(events[-1][1]["response"]["output"]) == next_index


def sdk_final(events: list[Event]) -> Any:
    """The final response as the openai SDK's ``responses.stream`` accumulates it."""
    from openai._types import omit
    from openai.lib.streaming.responses._responses import ResponseStreamState

    state = ResponseStreamState(input_tools=omit, text_format=omit)
    for _, data in events:
        state.handle_event(validate_type(type_=ResponseStreamEvent, value=data))
    return state._completed_response


def final_of(events: list[Event]) -> dict[str, Any]:
    return events[-1][1]["response"]


STREAMS = [
    (
        "text",
        [text("Hel"), text("lo"), stop(), usage_chunk()],
        ["response.output_item.added", "response.content_part.added", "response.output_text.delta",
         "response.output_text.delta", "response.output_text.done", "response.content_part.done",
         "response.output_item.done", "response.completed"],
        [("message", "completed", "output_text", "Hello")],
    ),
    (
        "reasoning then text",
        [reason("th"), reason("ink", SIG), text("42"), stop(), usage_chunk()],
        ["response.output_item.added", "response.reasoning_summary_part.added",
         "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
         "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
         "response.output_item.added", "response.content_part.added", "response.output_text.delta",
         "response.output_text.done", "response.content_part.done", "response.output_item.done",
         "response.completed"],
        [("reasoning", ["think"], False), ("message", "completed", "output_text", "42")],
    ),
    (
        "tool call streamed in fragments",
        [tool(0, id="c1", name="f"), tool(0, '{"a"'), tool(0, ":1}"), stop("tool_calls"), usage_chunk()],
        ["response.output_item.added", "response.function_call_arguments.delta",
         "response.function_call_arguments.delta", "response.function_call_arguments.done",
         "response.output_item.done", "response.completed"],
        [("function_call", "c1", "f", '{"a":1}', "completed")],
    ),
    (
        "name and arguments in one chunk",
        [tool(0, '{"x":2}', id="c1", name="g"), stop("tool_calls")],
        ["response.output_item.added", "response.function_call_arguments.delta",
         "response.function_call_arguments.done", "response.output_item.done", "response.completed"],
        [("function_call", "c1", "g", '{"x":2}', "completed")],
    ),
    (
        "parallel calls with interleaved fragments stay separate",
        [text("Both."), tool(0, id="A", name="f"), tool(1, id="B", name="g"), tool(0, '{"a":'), tool(1, '{"b":'),
         tool(0, "1}"), tool(1, "2}"), stop("tool_calls"), usage_chunk()],
        None,
        [("message", "completed", "output_text", "Both."), ("function_call", "A", "f", '{"a":1}', "completed"),
         ("function_call", "B", "g", '{"b":2}', "completed")],
    ),
    (
        "text after a tool call is a new message item",
        [text("a"), tool(0, "{}", id="c1", name="f"), text("b"), stop("tool_calls")],
        None,
        [("message", "completed", "output_text", "a"), ("function_call", "c1", "f", "{}", "completed"),
         ("message", "completed", "output_text", "b")],
    ),
    (
        "name arriving after the arguments",
        [tool(0, '{"k":'), tool(0, "3}"), tool(0, id="c1", name="f"), stop("tool_calls")],
        None,
        [("function_call", "c1", "f", '{"k":3}', "completed")],
    ),
    (
        "an index reused with a new id is a new call",
        [tool(0, "{}", id="c1", name="f"), tool(0, "{}", id="c2", name="g"), stop("tool_calls")],
        None,
        [("function_call", "c1", "f", "{}", "completed"), ("function_call", "c2", "g", "{}", "completed")],
    ),
    (
        "long tool name restored",
        [tool(0, "{}", id="c1", name=SHORT), stop("tool_calls")],
        None,
        [("function_call", "c1", LONG, "{}", "completed")],
    ),
    (
        "refusal streamed as text",
        [chunk({"refusal": "can't"}), stop("content_filter")],
        None,
        [("message", "incomplete", "output_text", "can't")],
    ),
    (
        "empty strings make no events",
        [chunk({"role": "assistant", "content": ""}), text("x"), chunk({"content": "", "reasoning": ""}), stop()],
        None,
        [("message", "completed", "output_text", "x")],
    ),
    (
        "content without finish_reason still completes",
        [text("x")],
        None,
        [("message", "completed", "output_text", "x")],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("chunks", "names", "expected"), [c[1:] for c in STREAMS], ids=[c[0] for c in STREAMS])
def test_streams(chunks: list[dict[str, Any]], names: list[str] | None, expected: list[Any]) -> None:
    events = run(chunks)
    check_wire(events)
    if names is not None:
        assert [n for n, _ in events][2:] == names
    assert shape(final_of(events)["output"]) == expected
    done = [d["item"] for n, d in events if n == "response.output_item.done"]
    assert done == final_of(events)["output"]
    final = sdk_final(events)  # None unless the stream ended with response.completed
    assert (final is not None) == (events[-1][0] == "response.completed")
    if final is not None:
        texts = [i["content"][0]["text"] for i in done if i["type"] == "message"]
        calls = [(i["call_id"], i["name"], i["arguments"]) for i in done if i["type"] == "function_call"]
        assert final.output_text == "".join(texts)
        assert [(i.call_id, i.name, i.arguments) for i in final.output if i.type == "function_call"] == calls


def test_deltas_rebuild_every_item() -> None:
    chunks = [reason("r1"), text("t1"), tool(0, id="A", name="f"), tool(1, id="B", name="g"), tool(1, '{"b":'),
              tool(0, '{"a":1}'), tool(1, "2}"), stop("tool_calls")]  # fmt: skip
    events = run(chunks)
    check_wire(events)
    text_by_item: dict[str, str] = {}
    for name, data in events:
        if name in _DELTAS:
            text_by_item[data["item_id"]] = text_by_item.get(data["item_id"], "") + data["delta"]
    for item in final_of(events)["output"]:
        if item["type"] == "function_call":
            assert text_by_item[item["id"]] == item["arguments"]
        elif item["type"] == "message":
            assert text_by_item[item["id"]] == item["content"][0]["text"]
        else:
            assert text_by_item[item["id"]] == item["summary"][0]["text"]


def test_usage_in_completed_event_and_property() -> None:
    events = run([text("x"), stop(), usage_chunk(prompt=100, completion=9, cached=40)])
    assert final_of(events)["usage"] == {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 0},
        "output_tokens": 9,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 109,
    }
    s = ResponsesStream(PLAN, response_id="r")
    assert s.usage == Usage()
    s.feed(usage_chunk(prompt=3, completion=2, cached=1))
    assert s.usage == Usage(prompt_tokens=3, completion_tokens=2, cache_read_tokens=1)


def test_no_usage_reports_zeros() -> None:
    events = run([text("x"), stop()])
    assert final_of(events)["usage"]["input_tokens"] == 0 and final_of(events)["usage"]["output_tokens"] == 0


def test_length_is_response_incomplete() -> None:
    events = run([text("cut"), stop("length"), usage_chunk()])
    check_wire(events)
    assert events[-1][0] == "response.incomplete"
    final = final_of(events)
    assert final["status"] == "incomplete" and final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"][0]["status"] == "incomplete"


def test_lifecycle_envelopes() -> None:
    events = run([text("x"), stop()])
    created, progress = events[0][1]["response"], events[1][1]["response"]
    assert created["status"] == progress["status"] == "in_progress" and created["output"] == []
    assert created["id"] == final_of(events)["id"] == "resp_s" and created["created_at"] == 7
    assert created["model"] == "client-model" and created["usage"] is None
    assert final_of(events)["status"] == "completed" and final_of(events)["completed_at"] is not None


FAILURES = [
    ("error chunk", [text("part"), {"error": {"message": "boom", "code": 429}}], None, 429, "rate_limit_exceeded"),
    ("finish_reason error", [text("part"), stop("error")], None, 502, "server_error"),
    ("nothing at all", [], None, 502, "server_error"),
    ("router fail mid-stream", [text("part")], (502, "reset"), 502, "server_error"),
]


@pytest.mark.parametrize(("chunks", "fail", "status", "code"), [c[1:] for c in FAILURES], ids=[c[0] for c in FAILURES])
def test_failures_end_with_response_failed(
    chunks: list[dict[str, Any]], fail: tuple[int, str] | None, status: int, code: str
) -> None:
    s = ResponsesStream(PLAN, response_id="resp_f")
    events = s.start()
    for c in chunks:
        events += s.feed(c)
    events += s.fail(*fail) if fail else s.finish()
    check_wire(events)
    assert events[-1][0] == "response.failed"
    response = final_of(events)
    assert response["status"] == "failed" and response["error"]["code"] == code and response["error"]["message"]
    assert (s.status, s.failed_status) == ("failed", status)
    for item in response["output"]:
        assert item["status"] == "incomplete"
    assert s.feed(text("late")) == [] and s.finish() == [] and s.fail(500, "again") == []


def test_finish_is_final_and_start_idempotent() -> None:
    s = ResponsesStream(PLAN, response_id="r")
    assert len(s.start()) == 2 and s.start() == []
    events = s.feed(text("x")) + s.finish()
    assert events[-1][0] == "response.completed" and s.status == "completed" and s.failed_status is None
    assert s.feed(text("y")) == [] and s.finish() == []


def test_encrypted_reasoning_only_when_included() -> None:
    encrypted = chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "E"}]})
    chunks = [reason("a"), reason("b", SIG), encrypted, text("x"), stop()]
    plain = final_of(run(chunks))["output"][0]
    assert plain["type"] == "reasoning" and "encrypted_content" not in plain
    included = final_of(run(chunks, make_plan(include_encrypted=True)))["output"][0]
    details = decode_reasoning(included["encrypted_content"])
    assert [(d["type"], d.get("text"), d.get("signature"), d.get("data")) for d in details] == [
        ("reasoning.text", "ab", SIG, None), ("reasoning.encrypted", None, None, "E")]  # fmt: skip


def test_events_survive_sse_framing() -> None:
    events = run([reason("r"), text("line1\nline2"), tool(0, "{}", id="c", name="f"), stop("tool_calls")])
    raw = b"".join(encode_sse(n, d) for n, d in events)
    decoded = SSEDecoder().feed(raw)
    assert [(e.event, json.loads(e.data)) for e in decoded] == events


def test_sent_events_are_snapshots() -> None:
    s = ResponsesStream(PLAN, response_id="r")
    first = s.start() + s.feed(text("a"))
    added = next(d for n, d in first if n == "response.output_item.added")
    s.feed(text("b"))
    s.finish()
    assert added["item"]["content"] == [] and added["item"]["status"] == "in_progress"


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
_keys = st.sampled_from(["content", "reasoning", "reasoning_details", "tool_calls", "refusal", "role"])
_deltas = st.dictionaries(_keys, _json, max_size=3)
_calls = st.lists(
    st.fixed_dictionaries(
        {"index": st.integers(0, 2) | _json},
        optional={"id": st.sampled_from(["a", "b"]) | _json, "function": st.fixed_dictionaries(
            {}, optional={"name": st.sampled_from(["f", "g"]), "arguments": st.sampled_from(["{", '"x"', ":1", "}"])})},
    ),
    max_size=2,
)  # fmt: skip
_chunks = st.one_of(
    _deltas.map(lambda d: chunk(d)),
    _calls.map(lambda c: chunk({"tool_calls": c})),
    st.sampled_from([None, "stop", "length", "tool_calls", "error"]).map(lambda r: chunk({}, r)),
    st.builds(usage_chunk, st.integers(0, 9), st.integers(0, 9)),
    _json.filter(lambda v: isinstance(v, dict)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_chunks, max_size=12))
def test_any_chunk_sequence_gives_a_well_formed_stream(chunks: list[dict[str, Any]]) -> None:
    events = run(chunks)
    check_wire(events)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["choices", "usage", "id"]), _json, max_size=3))
def test_any_completion_body_maps_without_crashing(resp: dict[str, Any]) -> None:
    body, _ = chat_to_response(resp, PLAN)
    Response.model_validate(body)
