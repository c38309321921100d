"""Reliability defects an adversarial run found, each against real servers on 127.0.0.1: an answered
request is never sent upstream twice, usage after a malformed chunk is still recorded, and an exception
inside a route is a 500 in the calling API's own shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ob1_gateway.upstream.client import UpstreamClient

from tests.fakes import faults as F
from tests.fakes import scripts as S
from tests.fixtures.gateway import GatewayHandle
from tests.integration.test_faults import FAST, assert_error_shape

ROUTES = {
    "anthropic": ("/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 64}),
    "openai": ("/v1/chat/completions", {"model": "gpt-4o-mini"}),
    "responses": ("/v1/responses", {"model": "gpt-4o-mini", "input": "hi"}),
}


@pytest.fixture
def gw(tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    with F.start_gateway(tmp_path / "home", fake_ob1, **FAST) as handle:
        yield handle


def post(gw: GatewayHandle, api: str, **extra: Any) -> httpx.Response:
    path, body = ROUTES[api]
    if api != "responses":
        body = {**body, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-api-key": gw.key, "anthropic-version": "2023-06-01", "authorization": f"Bearer {gw.key}"}
    return httpx.post(gw.base_url + path, json={**body, **extra}, headers=headers, timeout=30)


@pytest.mark.parametrize("api", list(ROUTES))
def test_a_body_cut_after_the_upstream_answered_is_not_retried(gw: GatewayHandle, fake_ob1: Any, api: str) -> None:
    fake_ob1.enqueue(F.cut_body(), S.completion("a retry would have been charged again"))
    response = post(gw, api)
    assert response.status_code == 502, response.text
    assert "cut off" in response.text
    assert len(fake_ob1.chat_requests) == 1, "the upstream answered once; it must be asked once"
    [record] = gw.usage_records(1)
    assert record.status == 502


def test_an_exception_inside_a_route_is_a_500_in_each_api_s_shape(
    gw: GatewayHandle, fake_ob1: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug with secret detail sk-not-for-callers")

    monkeypatch.setattr(UpstreamClient, "chat", broken)
    for api in ROUTES:
        response = post(gw, api)
        assert response.status_code == 500, response.text
        assert "sk-not-for-callers" not in response.text
        if api == "anthropic":
            assert_error_shape("anthropic", response.json(), type_="api_error")
        else:
            assert_error_shape("openai", response.json(), type_="server_error")
    records = gw.usage_records(3)
    assert [r.status for r in records] == [500, 500, 500], "a failed request is still metered"


@pytest.mark.parametrize(
    ("api", "target"),
    [
        ("anthropic", "ob1_gateway.api.routes.anthropic.chat_to_anthropic"),
        ("responses", "ob1_gateway.api.routes.responses.chat_to_response"),
    ],
)
def test_a_bug_after_the_upstream_answered_still_records_what_it_charged(
    gw: GatewayHandle, fake_ob1: Any, monkeypatch: pytest.MonkeyPatch, api: str, target: str
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("a translator bug")

    monkeypatch.setattr(target, broken)
    response = post(gw, api)
    assert response.status_code == 500, response.text
    charged = fake_ob1.chat_requests[-1]["usage"]
    [record] = gw.usage_records(1)
    assert (record.status, record.input_tokens, record.output_tokens) == (
        500,
        charged["prompt_tokens"],
        charged["completion_tokens"],
    )
