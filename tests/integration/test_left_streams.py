"""A client that leaves a stream mid-answer: the gateway stops the upstream, and records what the upstream
did (the prompt's local estimate, the text relayed so far) as estimated, priced as usual, on the budget."""

from __future__ import annotations

import time
from typing import Any

import httpx
from ob1_gateway.metering.pricing import cost_usd, to_micros
from ob1_gateway.translate.token_count import estimate_chat_tokens, estimate_output_tokens
from ob1_gateway.translate.token_usage import Usage

from tests.fakes import faults as F
from tests.fakes import scripts as S
from tests.fakes.ob1_fake import PRICING
from tests.fixtures.gateway import GatewayHandle

WORDS = "word " * 8  # 40 characters: 10 estimated tokens per chunk
MODEL = "anthropic/claude-sonnet-4.5"


def slow_answer(chunks: int = 40, pause: float = 0.25) -> list[Any]:
    """A long answer the upstream generates slowly, with its usage only at the end."""
    items: list[Any] = [S.PROCESSING, S.role_chunk()]
    for _ in range(chunks):
        items += [S.chunk({"role": "assistant", "content": WORDS}), pause]
    return [*items, S.chunk({}, finish_reason="stop"), S.usage_chunk(prompt_tokens=5000, completion_tokens=400), S.DONE]


def _leave_after(gateway: GatewayHandle, text_events: int, **extra: Any) -> int:
    """Stream /v1/messages and leave after ``text_events`` text deltas; returns the characters seen."""
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1000,
        "stream": True,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "tell me a long story " * 20}],
        **extra,
    }
    seen = 0
    headers = {"x-api-key": gateway.key, "anthropic-version": "2023-06-01"}
    with httpx.stream("POST", gateway.base_url + "/v1/messages", json=body, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if '"text_delta"' in line:
                seen += len(WORDS)
                if seen >= text_events * len(WORDS):
                    break
    return seen


def test_a_left_stream_stops_the_upstream_and_is_billed_as_estimated(gateway: GatewayHandle, fake_ob1: Any) -> None:
    fake_ob1.enqueue(slow_answer())
    seen = _leave_after(gateway, 2)
    left_at = time.monotonic()
    upstream = fake_ob1.chat_requests[-1]
    assert F.wait_until(lambda: "stream_end" in upstream, timeout=5), "the upstream stream was never closed"
    assert upstream["stream_end"] == "abandoned" and upstream["items_sent"] < 20, upstream["items_sent"]
    assert time.monotonic() - left_at < 3, "the upstream kept generating after the client left"

    [record] = gateway.usage_records(1)
    assert record.status == 499 and record.stream and record.estimated
    assert record.input_tokens == estimate_chat_tokens(upstream["body"]) > 100
    relayed_tokens = estimate_output_tokens(seen)
    assert relayed_tokens <= record.output_tokens < 400, (seen, record.output_tokens)
    usage = Usage(prompt_tokens=record.input_tokens, completion_tokens=record.output_tokens)
    pricing = {name: float(value) for name, value in PRICING[MODEL].items()}
    assert record.cost_micros == to_micros(cost_usd(usage, pricing)) > 0

    month = httpx.get(gateway.base_url + "/v1/usage", headers={"x-api-key": gateway.key}).json()
    assert month["spent_usd"] == record.cost_usd and [r["estimated_requests"] for r in month["rows"]] == [1]


def test_the_budget_counts_a_left_stream(gateway: GatewayHandle, fake_ob1: Any) -> None:
    gateway.backends.key_store.set_budget(gateway.key_id, 0.000001)  # one micro-dollar: any cost uses it up
    fake_ob1.enqueue(slow_answer())
    _leave_after(gateway, 1)
    gateway.usage_records(1)
    time.sleep(0.2)  # the key cache (ttl) may still hold the budget-less record: wait until the guard sees it
    deadline = time.monotonic() + 10
    while True:
        response = httpx.post(
            gateway.base_url + "/v1/messages",
            headers={"x-api-key": gateway.key, "anthropic-version": "2023-06-01"},
            json={"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "more"}]},
        )
        if response.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert response.status_code == 429 and "budget" in response.json()["error"]["message"], response.text


def test_closing_right_after_the_headers_still_bills_the_prompt(gateway: GatewayHandle, fake_ob1: Any) -> None:
    """What the openai SDK's own tests do: open a stream, close it once the headers are in."""
    fake_ob1.enqueue(F.slow_first_byte(0.0, then=slow_answer()))
    body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "a prompt " * 50}]}
    headers = {"authorization": f"Bearer {gateway.key}"}
    with httpx.stream("POST", gateway.base_url + "/v1/chat/completions", json=body, headers=headers) as response:
        assert response.status_code == 200
    [record] = gateway.usage_records(1)
    assert record.status == 499 and record.estimated
    assert record.input_tokens == estimate_chat_tokens(fake_ob1.chat_requests[-1]["body"]) > 100
    assert record.cost_micros > 0
