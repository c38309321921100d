"""Every recorded client request (``tests/fixtures/clients``) sent over HTTP to the gateway as its client
sent it (path and query, ``anthropic-*`` headers, user agent, the client's own credential header), with the
fake OB-1 behind it refusing what a real provider refuses. Each gets a complete answer in the shape its
client reads (SSE for ``stream: true``), and one usage record."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from ob1_gateway.translate.sse import SSEDecoder

from tests.fixtures.gateway import GatewayHandle
from tests.unit.test_client_fixtures import CASES, REFUSED

REPLAYED_HEADERS = ("anthropic-beta", "anthropic-version", "content-type", "user-agent")


def replay(gw: GatewayHandle, request: dict[str, Any]) -> httpx.Response:
    headers = {k: v for k, v in request["headers"].items() if k in REPLAYED_HEADERS}
    if "x-api-key" in request["header_names"]:
        headers["x-api-key"] = gw.key
    else:  # the anthropic SDK 2.15 sends its API key as a bearer token
        headers["authorization"] = f"Bearer {gw.key}"
    return httpx.post(
        gw.base_url + request["path"],
        params=request["query"],
        headers=headers,
        content=json.dumps(request["body"]),
        timeout=30,
    )


def text_of(content: Any) -> str:
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def sse_events(raw: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    return [(e.event, json.loads(e.data)) for e in SSEDecoder().feed(raw)]


@pytest.mark.parametrize(("name", "index", "request_"), CASES)
def test_recorded_request_is_answered_through_the_gateway(
    gateway: GatewayHandle, fake_ob1: Any, name: str, index: int, request_: dict[str, Any]
) -> None:
    response = replay(gateway, request_)
    refused = REFUSED.get((name, index))
    if refused:
        assert response.status_code == 400, response.text
        error = response.json()
        assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
        assert refused in error["error"]["message"]
        assert fake_ob1.chat_requests == [], "a refused request must not reach the upstream"
        return
    assert response.status_code == 200, response.text
    if request_["body"].get("stream"):
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.content)
        kinds = [kind for kind, _ in events]
        assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
        assert "error" not in kinds, events
        final = next(data for kind, data in events if kind == "message_delta")
        assert final["delta"]["stop_reason"] in ("end_turn", "tool_use")
    else:
        message = response.json()
        assert message["type"] == "message" and message["content"], message
    assert len(fake_ob1.chat_requests) == 1
    [record] = gateway.usage_records(1)
    assert record.status == 200 and record.input_tokens > 0 and record.key_id == gateway.key_id


SYSTEM_IN_PLACE = [c for c in CASES if any(m["role"] == "system" for m in c.values[2]["body"]["messages"])]


@pytest.mark.parametrize(("name", "index", "request_"), SYSTEM_IN_PLACE[:2])
def test_upstream_refusing_late_system_messages_gets_them_merged(
    gateway: GatewayHandle, fake_ob1: Any, name: str, index: int, request_: dict[str, Any]
) -> None:
    fake_ob1.configure(system_first_only=True)
    response = replay(gateway, request_)
    assert response.status_code == 200, response.text
    refused, accepted = fake_ob1.chat_requests
    assert refused["status"] == 400
    roles = [m["role"] for m in accepted["body"]["messages"]]
    assert roles.count("system") == 1 and roles[0] == "system"
    in_place = next(m for m in request_["body"]["messages"] if m["role"] == "system")
    assert text_of(in_place["content"])[:60] in text_of(accepted["body"]["messages"][0]["content"])
    [record] = gateway.usage_records(1)  # the refused attempt cost nothing and is not a second record
    assert record.status == 200


def test_openai_chat_with_a_late_system_message_is_merged_for_such_an_upstream(
    gateway: GatewayHandle, fake_ob1: Any
) -> None:
    fake_ob1.configure(system_first_only=True)
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "answer in French"},
        ],
    }
    response = httpx.post(
        gateway.base_url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {gateway.key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    sent = fake_ob1.chat_requests[-1]["body"]["messages"]
    assert sent == [{"role": "system", "content": "be brief\n\nanswer in French"}, {"role": "user", "content": "hi"}]
