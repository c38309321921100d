"""The errors agents recover from, in the words their recovery matches (``../shared/DESIGN.md`` §12), against
the gateway under uvicorn and the fake OB-1, driven by the SDKs on their own retry logic:

- a context overflow, in the upstream's (OpenRouter's) words, reaches an Anthropic caller as ``prompt is too long:
  N tokens > M maximum`` and an OpenAI caller (chat, Responses) with ``code: "context_length_exceeded"`` —
  streamed or not; a stream that fails before its first word is a plain HTTP error, not ``message_start`` +
  ``error``;
- overload and rate limits reach each SDK as what it retries (then it succeeds); a 408 stays retryable;
- only a 400 about system messages is sent again with them merged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fakes import faults as F
from tests.fakes import scripts as S
from tests.fakes.ob1_fake import MODELS_BY_ID
from tests.fixtures.gateway import GatewayHandle

FAST = {"max_retries": 1, "retry_backoff_seconds": 0.01, "retry_max_wait_seconds": 2.0}
OVERFLOW = (
    "This endpoint's maximum context length is 200000 tokens. However, you requested about 250123 tokens "
    "(250000 of text input, 123 of tool input, 0 in the output). Please reduce the length of either one, or use "
    'the "middle-out" transform to compress your prompt automatically.'
)
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def gw(tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    with F.start_gateway(tmp_path / "home", fake_ob1, **FAST) as handle:
        yield handle


def claude(gw: GatewayHandle, retries: int = 0) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.base_url, api_key=gw.key, max_retries=retries, timeout=30)


def gpt(gw: GatewayHandle, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url + "/v1", api_key=gw.key, max_retries=retries, timeout=30)


# ---- context overflow ----------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True])
def test_overflow_reaches_claude_in_anthropic_words(gw: GatewayHandle, fake_ob1: Any, stream: bool) -> None:
    fake_ob1.enqueue(S.http_error(400, OVERFLOW))
    with pytest.raises(anthropic.BadRequestError) as caught:
        if stream:
            with claude(gw).messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=HI) as events:
                list(events)
        else:
            claude(gw).messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI)
    error = caught.value.body["error"]
    assert error == {"type": "invalid_request_error", "message": "prompt is too long: 250123 tokens > 200000 maximum"}
    [record] = gw.usage_records(1)
    assert record.status == 400 and record.input_tokens == 0


@pytest.mark.parametrize("stream", [False, True])
def test_overflow_reaches_openai_chat_with_its_code(gw: GatewayHandle, fake_ob1: Any, stream: bool) -> None:
    fake_ob1.enqueue(S.http_error(400, OVERFLOW))
    with pytest.raises(openai.BadRequestError) as caught:
        answer = gpt(gw).chat.completions.create(model="gpt-4o-mini", messages=HI, stream=stream)
        list(answer) if stream else None  # type: ignore[call-overload]
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.param == "messages"
    assert "maximum context length is 200000 tokens" in caught.value.message


@pytest.mark.parametrize("stream", [False, True])
def test_overflow_reaches_responses_with_its_code(gw: GatewayHandle, fake_ob1: Any, stream: bool) -> None:
    fake_ob1.enqueue(S.http_error(400, OVERFLOW))
    with pytest.raises(openai.BadRequestError) as caught:
        answer = gpt(gw).responses.create(model="gpt-4o-mini", input="hi", stream=stream)
        list(answer) if stream else None  # type: ignore[call-overload]
    assert caught.value.code == "context_length_exceeded"


def test_responses_overflow_once_the_stream_has_started_is_response_failed(gw: GatewayHandle, fake_ob1: Any) -> None:
    fake_ob1.enqueue(
        [S.PROCESSING, S.role_chunk(), S.chunk({"content": "par"}), {"error": {"message": OVERFLOW, "code": 400}}]
    )
    events = list(gpt(gw).responses.create(model="gpt-4o-mini", input="hi", stream=True))
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.error is not None and failed.response.error.code == "context_length_exceeded"


def test_an_overflow_without_figures_is_sized_from_the_catalog_and_the_estimate(
    gw: GatewayHandle, fake_ob1: Any
) -> None:
    fake_ob1.enqueue(S.http_error(400, "Input is too long for requested model."))
    long_prompt = [{"role": "user", "content": "word " * 40_000}]  # ~50,000 tokens by the local estimate
    response = httpx.post(
        gw.base_url + "/v1/messages",
        headers={"x-api-key": gw.key, "anthropic-version": "2023-06-01"},
        json={"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": long_prompt},
        timeout=30,
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    requested, maximum = _figures(message)
    assert maximum == MODELS_BY_ID["anthropic/claude-sonnet-4.5"]["context_length"]
    assert requested > maximum  # the estimate (~50,000) is lower: the upstream's refusal says it is over


def _figures(message: str) -> tuple[int, int]:
    head, _, tail = message.removeprefix("prompt is too long: ").partition(" tokens > ")
    return int(head), int(tail.removesuffix(" maximum"))


# ---- a stream that fails before its first word -----------------------------------------------------------
@pytest.mark.parametrize(
    ("script", "status"),
    [
        ([S.PROCESSING, S.role_chunk(), {"error": {"message": "Provider returned error", "code": 502}}], 502),
        ([S.PROCESSING, {"error": {"message": "Rate limit exceeded: slow down", "code": 429}}], 429),
        ([S.PROCESSING, S.role_chunk(), S.DONE], 502),
        ([S.PROCESSING, S.role_chunk(), S.disconnect()], 502),
    ],
    ids=["error_chunk_after_role", "rate_limited_in_band", "empty_stream", "cut_before_a_word"],
)
def test_a_stream_failing_before_its_first_word_is_a_plain_http_error(
    gw: GatewayHandle, fake_ob1: Any, script: list[Any], status: int
) -> None:
    fake_ob1.enqueue(script)
    with httpx.stream(
        "POST",
        gw.base_url + "/v1/messages",
        headers={"x-api-key": gw.key, "anthropic-version": "2023-06-01"},
        json={"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": HI, "stream": True},
        timeout=30,
    ) as response:
        response.read()
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")  # no message_start was sent
    assert response.json()["type"] == "error"
    [record] = gw.usage_records(1)
    assert record.status == status


def test_a_stream_that_has_spoken_still_fails_in_band(gw: GatewayHandle, fake_ob1: Any) -> None:
    fake_ob1.enqueue(S.error_mid_stream("partial"))
    with httpx.stream(
        "POST",
        gw.base_url + "/v1/messages",
        headers={"x-api-key": gw.key, "anthropic-version": "2023-06-01"},
        json={"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": HI, "stream": True},
        timeout=30,
    ) as response:
        events = F.read_sse(response)
    assert response.status_code == 200
    assert events[0][0] == "message_start" and events[-1][0] == "error"


# ---- overload, rate limits, timeouts: each SDK retries, then succeeds -----------------------------------------
@pytest.mark.parametrize("upstream", [529, 503])
def test_overload_reaches_claude_as_529_and_it_retries(gw: GatewayHandle, fake_ob1: Any, upstream: int) -> None:
    busy = S.http_error(upstream, "Provider overloaded", headers={"Retry-After": "0"})
    fake_ob1.enqueue(busy, busy, S.completion("after the storm"))  # the gateway's own retry, then the SDK's
    with httpx.Client(base_url=gw.base_url, timeout=30) as http:
        first = http.post(
            "/v1/messages",
            headers={"x-api-key": gw.key, "anthropic-version": "2023-06-01"},
            json={"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": HI},
        )
    assert first.status_code == 529 and first.json()["error"]["type"] == "overloaded_error"
    assert first.headers["x-should-retry"] == "true" and first.headers["retry-after"] == "0"
    fake_ob1.enqueue(busy, busy, S.completion("after the storm"))
    message = claude(gw, retries=2).messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI)
    assert message.content[0].text == "after the storm"  # type: ignore[union-attr]


@pytest.mark.parametrize("upstream", [529, 503])
def test_overload_reaches_openai_as_503_and_it_retries(gw: GatewayHandle, fake_ob1: Any, upstream: int) -> None:
    busy = S.http_error(upstream, "Provider overloaded", headers={"Retry-After": "0"})
    fake_ob1.enqueue(busy, busy)
    with pytest.raises(openai.InternalServerError) as caught:
        gpt(gw).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert caught.value.status_code == 503 and caught.value.response.headers["x-should-retry"] == "true"
    fake_ob1.enqueue(busy, busy, S.completion("after the storm", model="openai/gpt-4o-mini"))
    answer = gpt(gw, retries=2).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert answer.choices[0].message.content == "after the storm"


def test_rate_limit_reaches_both_sdks_as_429_with_retry_after_and_they_retry(gw: GatewayHandle, fake_ob1: Any) -> None:
    limited = S.http_error(429, "Rate limit exceeded", headers={"Retry-After": "0"})
    fake_ob1.enqueue(limited, limited, S.completion("later"))
    message = claude(gw, retries=2).messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI)
    assert message.content[0].text == "later"  # type: ignore[union-attr]
    fake_ob1.enqueue(limited, limited, S.completion("later", model="openai/gpt-4o-mini"))
    answer = gpt(gw, retries=2).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert answer.choices[0].message.content == "later"
    assert len(fake_ob1.chat_requests) == 6  # per SDK: the gateway's retry, then the SDK's


def test_an_upstream_408_stays_retryable(gw: GatewayHandle, fake_ob1: Any) -> None:
    fake_ob1.enqueue(S.http_error(408, "Request timed out at the provider"), S.completion("second try"))
    message = claude(gw, retries=1).messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI)
    assert message.content[0].text == "second try"  # type: ignore[union-attr]
    statuses = [r.status for r in gw.usage_records(2)]
    assert sorted(statuses) == [200, 408]


def test_a_refused_key_is_told_not_to_retry(gw: GatewayHandle) -> None:
    response = httpx.post(
        gw.base_url + "/v1/messages",
        headers={"x-api-key": "ob1gw_nope_" + "x" * 32, "anthropic-version": "2023-06-01"},
        json={"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": HI},
        timeout=30,
    )
    assert response.status_code == 401 and response.headers["x-should-retry"] == "false"


# ---- the merge of system messages is for their refusal only ---------------------------------------------------
def test_a_400_about_something_else_is_sent_once_and_keeps_its_words(gw: GatewayHandle, fake_ob1: Any) -> None:
    refusal = "messages.1.content.0.cache_control: Extra inputs are not permitted"
    fake_ob1.enqueue(S.http_error(400, refusal))
    late_system = [
        {"role": "system", "content": "be brief"},
        *HI,
        {"role": "system", "content": "answer in French"},  # a merge could be tried: it must not be
    ]
    with pytest.raises(openai.BadRequestError) as caught:
        gpt(gw).chat.completions.create(model="gpt-4o-mini", messages=late_system)  # type: ignore[arg-type]
    assert "cache_control" in caught.value.message
    assert len(fake_ob1.chat_requests) == 1


# ---- a prompt clearly past the context is refused before any upstream call ------------------------------------
def test_a_prompt_clearly_past_the_context_is_refused_without_an_upstream_call(
    gw: GatewayHandle, fake_ob1: Any
) -> None:
    context = MODELS_BY_ID["openai/gpt-4o-mini"]["context_length"]
    huge = "lorem ipsum " * (context // 3 * 2)  # ~2.7x the context by the 4-characters-a-token estimate
    with pytest.raises(openai.BadRequestError) as caught:
        gpt(gw).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": huge}])
    assert caught.value.code == "context_length_exceeded"
    with pytest.raises(anthropic.BadRequestError) as told:
        claude(gw).messages.create(
            model="claude-3-5-haiku", max_tokens=64, messages=[{"role": "user", "content": huge * 2}]
        )
    requested, maximum = _figures(told.value.body["error"]["message"])
    assert maximum == MODELS_BY_ID["anthropic/claude-3.5-haiku"]["context_length"] and requested > 2 * maximum
    assert fake_ob1.chat_requests == []  # neither went upstream
    assert gw.usage_records(0) == []  # nor was billed


def test_a_prompt_near_the_context_still_goes_to_the_upstream(gw: GatewayHandle, fake_ob1: Any) -> None:
    context = MODELS_BY_ID["openai/gpt-4o-mini"]["context_length"]
    near = "lorem ipsum " * (context // 3)  # ~1.3x by the estimate: only the upstream can say
    fake_ob1.enqueue(S.completion("fits after all", model="openai/gpt-4o-mini"))
    answer = gpt(gw).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": near}])
    assert answer.choices[0].message.content == "fits after all"


def test_a_gateway_without_a_login_is_not_an_overloaded_upstream(gw: GatewayHandle, fake_ob1: Any) -> None:
    """Only an upstream's own 503/529 is an overload a client should back off and retry on: the gateway's
    503 for a dead login stays a 503 ``api_error`` without ``x-should-retry: true``."""
    fake_ob1.revoke_refresh_tokens()
    fake_ob1.expire_all_tokens()
    response = httpx.post(
        gw.base_url + "/v1/messages",
        headers={"x-api-key": gw.key, "anthropic-version": "2023-06-01"},
        json={"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": HI},
        timeout=30,
    )
    assert response.status_code == 503, response.text
    assert response.json()["error"]["type"] == "api_error"
    assert response.headers.get("x-should-retry") != "true"
