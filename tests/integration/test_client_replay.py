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
