"""An admin's controls on a key, enforced for every API, on the local backend (SQLite, process memory) and on
the AWS backend (DynamoDB in moto's server): requests, tokens and parallel requests per key, the models a
key may use, expiry, and rotation with a grace period."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from ob1_gateway.access.keys import issue_key, rotate_key
from ob1_gateway.stores.base import KeyPolicy

from tests.fakes import faults as F
from tests.fakes import scripts as S
from tests.fixtures.gateway import GatewayHandle

CLAUDE, GPT = "claude-sonnet-4-5", "gpt-4o-mini"


@pytest.fixture(params=["local", "local-workers", "aws"])
def gw(request: pytest.FixtureRequest, tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    """Counters in process memory, in SQLite (what ``--workers N`` shares), in DynamoDB (Lambda)."""
    if request.param == "aws":
        request.getfixturevalue("aws_env")  # OB1GW_BACKEND=aws against moto, a fresh table per test
    workers = 2 if request.param == "local-workers" else 1
    home = tmp_path / "home"
    with F.start_gateway(home, fake_ob1, key_cache_ttl_seconds=0.5, max_retries=0, workers=workers) as handle:
        assert handle.settings.backend == request.param.removesuffix("-workers")
        assert (
            type(handle.backends.rate_store).__name__
            == {
                "local": "MemoryRateStore",
                "local-workers": "SqliteRateStore",
                "aws": "DynamoRateStore",
            }[request.param]
        )
        yield handle


def key_with(gw: GatewayHandle, **policy: Any) -> tuple[str, str]:
    record, key = issue_key("limited", policy=KeyPolicy(**policy))
    gw.backends.key_store.put(record)
    return record.key_id, key


def anthropic_call(gw: GatewayHandle, key: str, text: str = "hi", model: str = CLAUDE) -> httpx.Response:
    return httpx.post(
        gw.base_url + "/v1/messages",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={"model": model, "max_tokens": 32, "messages": [{"role": "user", "content": text}]},
        timeout=30,
    )


def openai_call(gw: GatewayHandle, key: str, model: str = GPT) -> httpx.Response:
    return httpx.post(
        gw.base_url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )


def away_from_a_minute_boundary(margin: float = 4.0) -> None:
    """Limits count in UTC minutes: a burst must not straddle two."""
    into = time.time() % 60
    if into > 60 - margin:
        time.sleep(60 - into + 0.2)


def test_requests_per_minute_admit_exactly_the_limit(gw: GatewayHandle, fake_ob1: Any) -> None:
    _, key = key_with(gw, rpm=5)
    away_from_a_minute_boundary()
    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda i: (anthropic_call if i % 2 else openai_call)(gw, key), range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [429] * 7, statuses
    assert len(fake_ob1.chat_requests) == 5, "a refused request never reaches the upstream"
    for r in responses:
        if r.status_code != 429:
            continue
        assert 1 <= int(r.headers["retry-after"]) <= 60
        if r.json().get("type") == "error":  # Anthropic's shape and headers
            assert r.json()["error"]["type"] == "rate_limit_error"
            assert r.headers["anthropic-ratelimit-requests-limit"] == "5"
            assert r.headers["anthropic-ratelimit-requests-remaining"] == "0"
        else:
            assert r.json()["error"]["type"] == "rate_limit_error"
            assert r.headers["x-ratelimit-limit-requests"] == "5"
            assert r.headers["x-ratelimit-remaining-requests"] == "0"


def test_the_sdks_back_off_on_the_429(gw: GatewayHandle) -> None:
    _, key = key_with(gw, rpm=1)
    away_from_a_minute_boundary()
    client = anthropic.Anthropic(base_url=gw.base_url, api_key=key, max_retries=0)
    client.messages.create(model=CLAUDE, max_tokens=16, messages=[{"role": "user", "content": "one"}])
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(model=CLAUDE, max_tokens=16, messages=[{"role": "user", "content": "two"}])
    assert int(caught.value.response.headers["retry-after"]) >= 1
    with pytest.raises(openai.RateLimitError):
        openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0).chat.completions.create(
            model=GPT, messages=[{"role": "user", "content": "three"}]
        )


def test_tokens_per_minute_refuse_once_used_up(gw: GatewayHandle, fake_ob1: Any) -> None:
    _, key = key_with(gw, tpm=50)
    away_from_a_minute_boundary()
    assert anthropic_call(gw, key, "x" * 400).status_code == 200  # the fake charges ~len(body)/4 tokens
    assert fake_ob1.chat_requests[-1]["usage"]["prompt_tokens"] > 50
    deadline = time.monotonic() + 5
    while (refused := anthropic_call(gw, key)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)  # the tokens are counted once the first request's record is submitted
    assert refused.status_code == 429
    assert "tokens per minute" in refused.json()["error"]["message"]
    assert refused.headers["anthropic-ratelimit-tokens-limit"] == "50"


def test_parallel_requests_are_capped_and_freed(gw: GatewayHandle, fake_ob1: Any) -> None:
    _, key = key_with(gw, max_parallel=2)
    fake_ob1.enqueue(*[F.slow_first_byte(1.0, S.completion("slow")) for _ in range(2)])
    with ThreadPoolExecutor(6) as pool:
        slow = [pool.submit(openai_call, gw, key) for _ in range(2)]
        time.sleep(0.4)  # both are in flight upstream
        burst = [pool.submit(openai_call, gw, key) for _ in range(4)]
        assert sorted(f.result().status_code for f in burst) == [429] * 4
        assert [f.result().status_code for f in slow] == [200, 200]
    deadline = time.monotonic() + 5
    while openai_call(gw, key).status_code != 200:  # slots come back with the usage records
        assert time.monotonic() < deadline, "the parallel slots were never freed"
        time.sleep(0.05)


def test_models_outside_the_key_s_list_are_refused_and_hidden(gw: GatewayHandle, fake_ob1: Any) -> None:
    _, key = key_with(gw, models=("openai/*",))
    refused = anthropic_call(gw, key)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["type"] == "permission_error"
    assert CLAUDE in error["message"] and "openai/*" in error["message"]
    assert fake_ob1.chat_requests == []
    assert openai_call(gw, key).status_code == 200
    listed = httpx.get(gw.base_url + "/v1/models", headers={"authorization": f"Bearer {key}"}).json()["data"]
    assert listed and all(m["id"].startswith("openai/") for m in listed)
    other = openai_call(gw, key, model="google/gemini-2.5-pro")
    assert other.status_code == 403 and other.json()["error"]["code"] == "model_not_allowed"


def test_an_expired_key_is_refused_without_a_restart(gw: GatewayHandle) -> None:
    _, key = key_with(gw, expires_at=time.time() + 1.5)
    assert anthropic_call(gw, key).status_code == 200
    time.sleep(1.6)
    refused = anthropic_call(gw, key)
    assert refused.status_code == 401
    assert "expired" in refused.json()["error"]["message"]
    _, old = key_with(gw, expires_at=time.time() - 10)
    assert "expired" in openai_call(gw, old).json()["error"]["message"]


def test_rotation_keeps_usage_and_refuses_the_old_secret_after_the_grace(gw: GatewayHandle) -> None:
    key_id, old = key_with(gw)
    assert anthropic_call(gw, old).status_code == 200
    record = gw.backends.key_store.get(key_id)
    assert record is not None
    sha, policy, new = rotate_key(record, grace_seconds=1.0)
    assert gw.backends.key_store.set_secret_and_policy(key_id, sha, policy)
    assert anthropic_call(gw, new).status_code == 200, "the new secret works at once"
    assert anthropic_call(gw, old).status_code == 200, "the old one during the grace period"
    time.sleep(1.6)  # past the grace, and past the key cache's TTL
    assert anthropic_call(gw, old).status_code == 401
    assert anthropic_call(gw, new).status_code == 200
    records = gw.usage_records(4)
    assert len(records) == 4 and {r.key_id for r in records} == {key_id}, "one key id, one usage history"
