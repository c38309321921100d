"""The Vercel AI SDK (npm ``ai`` + ``@ai-sdk/openai``, pinned in package.json) on its defaults, through the
gateway's ``/v1/responses`` on the fake OB-1's reasoning model, both backends (SQLite; S3 in moto's server).

``createOpenAI({baseURL, apiKey})`` + ``openai("gpt-5.1")`` is the Responses API with ``store`` unset (OpenAI's
default, true), and gpt-5.x is a reasoning model to the SDK. What it sends (recorded in
``tests/fixtures/clients/vercel-ai-7.0.173-*.json``):

- Every request: ``{"model": "gpt-5.1", "input": [...]}`` (+ ``"stream": true`` for streamText); no ``store``,
  ``include``, ``reasoning``, ``instructions`` or ``max_output_tokens`` on the defaults.
- A user turn: ``{"role": "user", "content": [{"type": "input_text", "text": ...}]}``.
- The second turn of a conversation (the first turn's ``response.messages`` appended) sends the first answer
  back only by reference: ``{"type": "item_reference", "id": "rs_…"}`` then ``{"type": "item_reference",
  "id": "msg_…"}`` (a reasoning model's text is referenced only when reasoning precedes it).
- A tool loop (``tools`` + ``stopWhen: stepCountIs(5)``): ``tools: [{"type": "function", "name", "description",
  "parameters": <draft-07 JSON schema, additionalProperties false>, "strict": false}]``, ``tool_choice: "auto"``;
  the step after the tool call sends ``item_reference rs_…`` (the tool turn's reasoning), then the call itself
  in full (``function_call`` with call_id/name/arguments, never a reference) and ``function_call_output``.

So each follow-up works only if the gateway resolves the references to what it stored, and the upstream must
get the earlier reasoning back (the fake refuses encrypted reasoning it did not issue and issues new one per
answer; :func:`reasoning_for` says which).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients.capture_vercel_ai import ALIASES, run_script
from tests.fakes import faults
from tests.fakes.ob1_fake import reasoning_for
from tests.fixtures.gateway import GatewayHandle

REPO = Path(__file__).resolve().parents[2]
INSTALLED = all((REPO / "node_modules" / name / "package.json").exists() for name in ("ai", "@ai-sdk/openai"))
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not INSTALLED and os.environ.get("CI") != "true", reason="Vercel AI SDK not installed"),
]
UPSTREAM_MODEL = ALIASES["gpt-5.1"]


@pytest.fixture(params=["local", "aws"])
def gw(request: pytest.FixtureRequest, tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    """The gateway on the fake OB-1 with one key; ``gpt-5.1`` (the SDK's model name here) is an operator alias
    of the fake's reasoning model."""
    if request.param == "aws":
        request.getfixturevalue("aws_env")
    with faults.start_gateway(tmp_path / "home", fake_ob1, model_aliases=ALIASES) as handle:
        assert handle.settings.backend == request.param
        yield handle


def run_sdk(gw: GatewayHandle, scenario: str) -> dict[str, Any]:
    """The SDK's report of one scenario; it must have finished without an API error."""
    assert INSTALLED, "CI must install the Vercel AI SDK (npm install)"
    proc, report = run_script(gw, scenario)
    assert proc.returncode == 0, proc.stderr[-2000:]
    failed = [r for r in report["requests"] if r["status"] != 200]
    assert report["error"] is None and not failed, json.dumps({"error": report["error"], "failed": failed})[:3000]
    assert gw.key not in proc.stdout + proc.stderr
    return report


def references(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["input"] if item.get("type") == "item_reference"]


def issued_reasoning(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``reasoning_details`` the fake's reasoning model attached to an answer (text or tool call)."""
    thought = reasoning_for({"model": UPSTREAM_MODEL}, reply)
    assert thought is not None
    details: list[dict[str, Any]] = thought["details"]
    return details


@pytest.mark.parametrize("scenario", ["two-turns", "two-turns-stream"])
def test_second_turn_sends_the_first_answer_back_by_reference(gw: GatewayHandle, fake_ob1: Any, scenario: str) -> None:
    report = run_sdk(gw, scenario)
    first, second = report["turns"]
    assert first["text"] == "Echo: What is the capital of Norway?"
    assert second["text"] == "Echo: And of Sweden?"
    assert first["reasoning"] == [f"Thinking about: {first['text']}"]  # the user sees the reasoning summary

    sent = [r["body"] for r in report["requests"]]
    assert len(sent) == 2 and all(r["path"] == "/v1/responses" for r in report["requests"])
    assert sent[1].get("stream", False) is scenario.endswith("-stream")
    rs_id, msg_id = references(sent[1])  # what the SDK does on OpenAI's defaults
    assert rs_id.startswith("rs_") and msg_id.startswith("msg_")
    assert "store" not in sent[1] and "previous_response_id" not in sent[1]

    chats = fake_ob1.chat_requests
    assert len(chats) == 2 and chats[1]["body"]["model"] == UPSTREAM_MODEL
    assert chats[1]["body"]["messages"] == [
        {"role": "user", "content": "What is the capital of Norway?"},
        {"role": "assistant", "content": first["text"], "reasoning_details": issued_reasoning({"text": first["text"]})},
        {"role": "user", "content": "And of Sweden?"},
    ]
    records = gw.usage_records(2)
    assert [(r.key_id, r.route, r.status) for r in records] == [(gw.key_id, "/v1/responses", 200)] * 2


@pytest.mark.parametrize("scenario", ["tool-loop", "tool-loop-stream"])
def test_tool_loop_keeps_the_reasoning_of_the_tool_turn(gw: GatewayHandle, fake_ob1: Any, scenario: str) -> None:
    report = run_sdk(gw, scenario)
    [answer] = report["turns"]
    result = {"city": "Oslo", "forecast": "sunny-42 in Oslo"}
    assert answer["toolResults"] == [result]  # the execute function ran with the model's arguments
    assert answer["text"] == "Tool said: " + json.dumps(result, separators=(",", ":"))
    assert (answer["steps"], answer["finishReason"]) == (2, "stop")

    first, second = (r["body"] for r in report["requests"])
    assert [t["name"] for t in first["tools"]] == ["weather"]
    [rs_id] = references(second)
    assert rs_id.startswith("rs_")
    [call] = [item for item in second["input"] if item.get("type") == "function_call"]
    [output] = [item for item in second["input"] if item.get("type") == "function_call_output"]
    assert output["call_id"] == call["call_id"] and json.loads(output["output"]) == result

    chats = fake_ob1.chat_requests
    assert len(chats) == 2
    messages = chats[1]["body"]["messages"]
    [assistant] = [m for m in messages if m["role"] == "assistant"]
    [tool_call] = assistant["tool_calls"]
    assert tool_call["id"] == call["call_id"] and tool_call["function"]["name"] == "weather"
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Oslo"}
    assert assistant["reasoning_details"] == issued_reasoning({"tool": ("weather", "")})
    assert messages[-1] == {"role": "tool", "tool_call_id": call["call_id"], "content": output["output"]}
