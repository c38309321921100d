"""Upstream faults against real servers on 127.0.0.1: what the client receives, how often the
fake upstream was tried, and which usage record is written.

Before the first byte (inside ``UpstreamClient._send``): connect errors, 429 and 5xx are retried with
backoff (``Retry-After`` honoured up to the cap); after it nothing is retried, and every mid-stream
failure becomes the API's own in-stream error (Anthropic ``event: error``, OpenAI an error chunk with no
``[DONE]``) on a stream that still ends cleanly, with a usage record for what was consumed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fakes import faults as F
from tests.fakes import scripts as S
from tests.fixtures.gateway import GatewayHandle

ANTHROPIC_MODEL = "claude-sonnet-4-5"
OPENAI_MODEL = "gpt-4o-mini"
UPSTREAM_MODEL = {"anthropic": "anthropic/claude-sonnet-4.5", "openai": "openai/gpt-4o-mini"}
FAST = {
    "max_retries": 2,
    "retry_backoff_seconds": 0.01,
    "retry_max_wait_seconds": 2.0,
    "first_byte_timeout": 1.0,
    "stream_idle_timeout": 1.0,
}
APIS = ["anthropic", "openai"]


@pytest.fixture
def gw(tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    with F.start_gateway(tmp_path / "home", fake_ob1, **FAST) as handle:
        yield handle


def request(gw: GatewayHandle, api: str, *, stream: bool, timeout: float = 30) -> tuple[int, dict, Any]:
    """POST a minimal request; returns (status, headers, parsed JSON body or the list of SSE events)."""
    if api == "anthropic":
        url, headers = "/v1/messages", {"x-api-key": gw.key, "anthropic-version": "2023-06-01"}
        body = {"model": ANTHROPIC_MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    else:
        url, headers = "/v1/chat/completions", {"authorization": f"Bearer {gw.key}"}
        body = {"model": OPENAI_MODEL, "messages": [{"role": "user", "content": "hi"}]}
    body["stream"] = stream
    with (
        httpx.Client(base_url=gw.base_url, timeout=timeout) as client,
        client.stream("POST", url, json=body, headers=headers) as response,
    ):
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return response.status_code, dict(response.headers), F.read_sse(response)
        response.read()
        return response.status_code, dict(response.headers), response.json()


def assert_error_shape(api: str, body: Any, *, type_: str) -> str:
    if api == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == type_, body
        return body["error"]["message"]
    assert set(body["error"]) >= {"message", "type", "param", "code"}, body
    assert body["error"]["type"] == type_, body
    return body["error"]["message"]


def stream_error(api: str, events: list[tuple[str | None, Any]]) -> dict[str, Any]:
    """The in-stream error, asserting it is the last event and nothing claims success."""
    name, data = events[-1]
    if api == "anthropic":
        assert name == "error", events
        assert not any(n in ("message_delta", "message_stop") for n, _ in events), events
        assert data["type"] == "error"
        return data["error"]
    assert name is None and isinstance(data, dict) and "error" in data, events
    assert all(d != "[DONE]" for _, d in events), "an errored OpenAI stream must not end with [DONE]"
    return data["error"]


def text_before_error(api: str, events: list[tuple[str | None, Any]]) -> str:
    if api == "anthropic":
        return "".join(d["delta"].get("text", "") for n, d in events if n == "content_block_delta" and "delta" in d)
    return "".join(
        (c.get("delta") or {}).get("content") or ""
        for _, d in events
        if isinstance(d, dict)
        for c in d.get("choices") or []
    )


def error_type(api: str, status: int) -> str:
    if api == "anthropic":
        return {429: "rate_limit_error", 504: "timeout_error"}.get(status, "api_error")
    return {429: "rate_limit_error"}.get(status, "server_error")


# ---- before the first byte: retries -------------------------------------------------------------------
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("stream", [False, True])
def test_5xx_is_retried_and_the_client_gets_200_when_it_clears(
    gw: GatewayHandle, fake_ob1: Any, api: str, stream: bool
) -> None:
    answer = S.text_stream("recovered") if stream else S.completion("recovered")
    fake_ob1.enqueue(S.http_error(500, "boom"), S.http_error(503, "busy"), answer)
    status, _, body = request(gw, api, stream=stream)
    assert status == 200
    assert len(fake_ob1.chat_requests) == gw.settings.max_retries + 1
    if stream:
        assert text_before_error(api, body) == "recovered"
    else:
        assert "recovered" in str(body)
    [record] = gw.usage_records(1)
    assert record.status == 200 and record.model == UPSTREAM_MODEL[api]


@pytest.mark.parametrize("api", APIS)
def test_5xx_retries_are_bounded(gw: GatewayHandle, fake_ob1: Any, api: str) -> None:
    fake_ob1.enqueue(*[S.http_error(502, "bad gateway upstream")] * 5)
    status, _, body = request(gw, api, stream=True)
    assert status == 502
    assert "bad gateway upstream" in assert_error_shape(api, body, type_=error_type(api, 502))
    assert len(fake_ob1.chat_requests) == gw.settings.max_retries + 1
    [record] = gw.usage_records(1)
    assert record.status == 502 and record.input_tokens == record.output_tokens == 0


@pytest.mark.parametrize("api", APIS)
def test_429_retry_after_is_honoured(gw: GatewayHandle, fake_ob1: Any, api: str) -> None:
    fake_ob1.enqueue(S.http_error(429, "slow down", headers={"Retry-After": "1"}), S.text_stream("later"))
    started = time.monotonic()
    status, _, events = request(gw, api, stream=True)
    elapsed = time.monotonic() - started
    assert status == 200 and text_before_error(api, events) == "later"
    assert elapsed >= 1.0, "Retry-After: 1 must be waited for"
    assert len(fake_ob1.chat_requests) == 2
    first, second = fake_ob1.chat_requests
    assert second["ts"] - first["ts"] >= 0.95
    [record] = gw.usage_records(1)
    assert record.status == 200


@pytest.mark.parametrize("api", APIS)
def test_429_retry_after_beyond_the_cap_is_returned_at_once(gw: GatewayHandle, fake_ob1: Any, api: str) -> None:
    fake_ob1.enqueue(S.http_error(429, "quota", headers={"Retry-After": "120"}))
    started = time.monotonic()
    status, headers, body = request(gw, api, stream=False)
    assert time.monotonic() - started < 1.5
    assert status == 429 and headers["retry-after"] == "120"
    assert_error_shape(api, body, type_="rate_limit_error")
    assert len(fake_ob1.chat_requests) == 1
    [record] = gw.usage_records(1)
    assert record.status == 429


@pytest.mark.parametrize("api", APIS)
def test_client_errors_are_not_retried(gw: GatewayHandle, fake_ob1: Any, api: str) -> None:
    fake_ob1.enqueue(S.http_error(400, "context too long"))
    status, _, body = request(gw, api, stream=True)
    assert status == 400
    assert "context too long" in assert_error_shape(api, body, type_="invalid_request_error")
    assert len(fake_ob1.chat_requests) == 1


@pytest.mark.parametrize("api", APIS)
def test_connection_refused_is_retried_then_reported(
    tmp_path: Path, fake_ob1: Any, api: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ob1_gateway.upstream.client")
    port = F.closed_port()
    with F.start_gateway(tmp_path / "home", fake_ob1, upstream_url=f"http://127.0.0.1:{port}/api/v1", **FAST) as gw:
        started = time.monotonic()
        status, _, body = request(gw, api, stream=True)
        elapsed = time.monotonic() - started
        message = assert_error_shape(api, body, type_=error_type(api, 502))
        assert status == 502 and "unreachable" in message and "cannot connect" in message
        retries = [r for r in caplog.records if "retry" in r.getMessage() and "cannot connect" in r.getMessage()]
        assert len(retries) == gw.settings.max_retries
        assert elapsed < 5
        # The model could not be resolved, so the request never reached metering: no usage record.
        assert gw.usage_records(0) == []


@pytest.mark.parametrize("api", APIS)
def test_connection_refused_until_the_upstream_comes_back(
    tmp_path: Path, fake_ob1: Any, api: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ob1_gateway.upstream.client")
    with F.DelayedListener(fake_ob1.port, after=0.4) as proxy:
        settings = {**FAST, "max_retries": 6, "retry_backoff_seconds": 0.1}
        url = f"http://127.0.0.1:{proxy.port}/api/v1"
        with F.start_gateway(tmp_path / "home", fake_ob1, upstream_url=url, **settings) as gw:
            status, _, events = request(gw, api, stream=True)
            assert status == 200, events
            assert text_before_error(api, events).startswith("Echo: hi")
            assert any("cannot connect" in r.getMessage() for r in caplog.records), "the first attempts were refused"
            assert proxy.accepted >= 1
            [record] = gw.usage_records(1)
            assert record.status == 200


@pytest.mark.parametrize("api", APIS)
def test_slow_first_byte_times_out_without_retry(gw: GatewayHandle, fake_ob1: Any, api: str) -> None:
    fake_ob1.enqueue(F.slow_first_byte(3.0))
    started = time.monotonic()
    status, _, body = request(gw, api, stream=True)
    assert time.monotonic() - started < 2.5, "first_byte_timeout is 1 s"
    assert status == 504
    assert "timed out" in assert_error_shape(api, body, type_=error_type(api, 504))
    assert len(fake_ob1.chat_requests) == 1, "a timeout is not retried"
    [record] = gw.usage_records(1)
    assert record.status == 504


# ---- after the first byte: never retried, in-stream errors --------------------------------------------
MID_STREAM = {
    "reset": (F.reset_after(3), 502, "upstream stream failed: the response was cut off"),
    "garbage_line": (F.garbage_data_line(2), 502, "malformed stream chunk"),
    "error_object": (S.error_mid_stream(F.PARTIAL, "Provider returned error"), 502, "Provider returned error"),
    "error_finish_reason": (F.error_finish_reason(2), 502, "reported an error"),
    "idle": (F.idle_stall(3.0), 504, "silent for more than 1 s"),
    "no_finish_reason": (F.no_finish_reason(2), 502, "without a finish reason"),
    "eof_without_finish": (F.no_finish_reason(2, done=False), 502, "without a finish reason"),
}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("case", list(MID_STREAM))
def test_mid_stream_failure_is_an_in_stream_error(gw: GatewayHandle, fake_ob1: Any, api: str, case: str) -> None:
    script, status, fragment = MID_STREAM[case]
    fake_ob1.enqueue(script, S.text_stream("a retry would have produced this"))
    code, _, events = request(gw, api, stream=True)
    assert code == 200, "headers were sent before the failure"
    error = stream_error(api, events)
    assert error["type"] == error_type(api, status)
    assert fragment in error["message"]
    assert text_before_error(api, events).startswith(F.PARTIAL), "what arrived before the failure is kept"
    assert len(fake_ob1.chat_requests) == 1, "nothing is retried after the first byte"
    [record] = gw.usage_records(1)
    assert record.status == status and record.stream
    if case in ("no_finish_reason", "garbage_line"):  # a usage chunk followed: what was charged is recorded
        assert (record.input_tokens, record.output_tokens) == (20, 10)


@pytest.mark.parametrize("api", APIS)
def test_truncated_tool_arguments_are_an_error_and_usage_is_recorded(
    gw: GatewayHandle, fake_ob1: Any, api: str
) -> None:
    fake_ob1.enqueue(F.truncated_tool_arguments())
    code, _, events = request(gw, api, stream=True)
    assert code == 200
    error = stream_error(api, events)
    assert "incomplete tool call arguments" in error["message"]
    if api == "anthropic":
        assert not any(n == "content_block_stop" for n, _ in events[:-1] if n), "the tool block is never closed"
    [record] = gw.usage_records(1)
    assert (record.status, record.input_tokens, record.output_tokens) == (502, 33, 7)
    assert record.cost_micros == 200


# A failure the upstream reports on a chunk that also carries its usage: fields on that chunk, what the
# error message says, and the usage (input, output) the record must keep.
REPORTED_FAILURES = {
    "finish_reason_error": ({}, "reported an error", (21, 9)),
    "error_object": (
        {"error": {"code": 502, "message": "Provider returned error"}},
        "Provider returned error",
        (17, 4),
    ),
}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("case", list(REPORTED_FAILURES))
def test_a_failure_reported_mid_stream_ends_it_and_keeps_what_was_charged(
    gw: GatewayHandle, fake_ob1: Any, api: str, case: str
) -> None:
    """``finish_reason: "error"`` (with or without an error object) on a chunk that carries the usage: the
    stream ends there (nothing the upstream sends after it reaches the client) and the record has that
    usage."""
    fields, fragment, (input_tokens, output_tokens) = REPORTED_FAILURES[case]
    failing = S.chunk({"role": "assistant", "content": ""}, finish_reason="error")
    failing |= {**fields, "usage": S.usage(prompt_tokens=input_tokens, completion_tokens=output_tokens)}
    after = S.chunk({"role": "assistant", "content": "AFTER THE ERROR"})
    fake_ob1.enqueue(
        [S.PROCESSING, S.role_chunk(), S.chunk({"role": "assistant", "content": F.PARTIAL}), failing, after, S.DONE]
    )
    code, _, events = request(gw, api, stream=True)
    assert code == 200
    assert fragment in stream_error(api, events)["message"]
    assert "AFTER THE ERROR" not in text_before_error(api, events)
    [record] = gw.usage_records(1)
    assert (record.status, record.input_tokens, record.output_tokens) == (502, input_tokens, output_tokens)


@pytest.mark.parametrize("api", APIS)
def test_bytes_after_a_completed_tool_call_break_the_stream(gw: GatewayHandle, fake_ob1: Any, api: str) -> None:
    """A call whose arguments were complete JSON gets more bytes after another call started: what the
    upstream sent for it no longer parses, on every API (the pass-through forwards those bytes)."""
    fake_ob1.enqueue(
        [
            S.PROCESSING,
            S.role_chunk(),
            S.chunk(S._tool_delta(0, id="toolu_fake_G1", name="get_weather", args='{"city": "Paris"}')),
            S.chunk(S._tool_delta(1, id="toolu_fake_G2", name="get_time", args="{}")),
            S.chunk(S._tool_delta(0, args="}")),
            S.chunk({"role": "assistant", "content": ""}, finish_reason="tool_calls", native_finish_reason="tool_use"),
            S.usage_chunk(prompt_tokens=12, completion_tokens=5),
            S.DONE,
        ]
    )
    code, _, events = request(gw, api, stream=True)
    assert code == 200
    assert "incomplete tool call arguments" in stream_error(api, events)["message"]
    [record] = gw.usage_records(1)
    assert (record.status, record.input_tokens, record.output_tokens) == (502, 12, 5)


@pytest.mark.parametrize("api", APIS)
def test_an_index_reused_with_a_new_id_is_a_second_call_not_a_broken_stream(
    gw: GatewayHandle, fake_ob1: Any, api: str
) -> None:
    """The relay's completeness check follows tool calls exactly as the translator does: merged into one
    call, the two argument objects would not parse and a valid stream would end as a 502."""
    fake_ob1.enqueue(S.reused_index_tool_calls())
    code, _, events = request(gw, api, stream=True)
    assert code == 200
    if api == "anthropic":
        assert events[-1] == ("message_stop", {"type": "message_stop"}), events[-1]
        starts = [d["content_block"] for n, d in events if n == "content_block_start"]
        args: dict[int, str] = {}
        for n, d in events:
            if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta":
                args[d["index"]] = args.get(d["index"], "") + d["delta"]["partial_json"]
        calls = [(b["id"], b["name"], json.loads(args[i])) for i, b in enumerate(starts)]
    else:
        assert events[-1] == (None, "[DONE]"), events[-1]
        pieces: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        current = ""
        for _, d in events[:-1]:
            for choice in d.get("choices") or []:
                for call in (choice.get("delta") or {}).get("tool_calls") or []:
                    current = call.get("id") or current
                    names.setdefault(current, call["function"].get("name") or "")
                    pieces.setdefault(current, []).append(call["function"].get("arguments") or "")
        calls = [(i, names[i], json.loads("".join(p))) for i, p in pieces.items()]
    assert calls == [
        ("toolu_fake_R1", "get_weather", {"city": "Paris"}),
        ("toolu_fake_R2", "get_time", {"timezone": "Europe/Paris"}),
    ]
    [record] = gw.usage_records(1)
    assert (record.status, record.input_tokens, record.output_tokens) == (200, 45, 20)


@pytest.mark.parametrize("api", APIS)
def test_noise_lines_that_are_not_sse_are_ignored(gw: GatewayHandle, fake_ob1: Any, api: str) -> None:
    fake_ob1.enqueue(F.non_sse_noise())
    code, _, events = request(gw, api, stream=True)
    assert code == 200
    assert text_before_error(api, events) == "noise is ignored"
    assert events[-1] == (("message_stop", {"type": "message_stop"}) if api == "anthropic" else (None, "[DONE]"))
    [record] = gw.usage_records(1)
    assert record.status == 200


# ---- the SDKs see the same --------------------------------------------------------------------------------
def test_anthropic_sdk_raises_the_in_stream_error(gw: GatewayHandle, fake_ob1: Any) -> None:
    fake_ob1.enqueue(F.reset_after(2))
    client = anthropic.Anthropic(base_url=gw.base_url, api_key=gw.key, max_retries=0, timeout=30)
    texts: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(
            model=ANTHROPIC_MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        ) as stream,
    ):
        texts.extend(stream.text_stream)
    assert "".join(texts) == F.PARTIAL * 2
    assert caught.value.body["error"]["type"] == "api_error"
    assert len(fake_ob1.chat_requests) == 1


def test_openai_sdk_raises_the_in_stream_error(gw: GatewayHandle, fake_ob1: Any) -> None:
    fake_ob1.enqueue(F.idle_stall(3.0))
    client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=gw.key, max_retries=0, timeout=30)
    texts: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in client.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
        ):
            texts.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(texts) == F.PARTIAL * 2
    assert "silent" in caught.value.message
    [record] = gw.usage_records(1)
    assert record.status == 504
