"""The Vercel AI SDK (npm ``ai`` + ``@ai-sdk/openai``, pinned in package.json) on its defaults, through the
gateway's ``/v1/responses`` on the fake OB-1's reasoning model, both backends (SQLite; S3 in moto's server).

``createOpenAI({baseURL, apiKey})`` + ``openai("gpt-5.1")`` is the Responses API with ``store`` unset (OpenAI's
default, true), and gpt-5.x is a reasoning model to the SDK. What it sends (recorded in
``tests/fixtures/clients/vercel-ai-7.0.185-*.json``):

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
  A follow-up turn (the loop's ``responseMessages`` appended; ai 7's ``response.messages`` is deprecated and
  holds the last step only) sends the same, then ``item_reference rs_…`` + ``msg_…`` of the final step: items
  of two stored responses.

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

import httpx
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


def retrieve(gw: GatewayHandle, response_id: str) -> httpx.Response:
    return httpx.get(f"{gw.base_url}/v1/responses/{response_id}", headers={"authorization": f"Bearer {gw.key}"})


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
    stored = retrieve(gw, second["responseIds"][0]).json()  # what the SDK left stored, as OpenAI would
    assert stored["store"] is True and stored["output"][-1]["content"][0]["text"] == second["text"]


@pytest.mark.parametrize("scenario", ["tool-loop", "tool-loop-stream"])
def test_tool_loop_keeps_the_reasoning_of_the_tool_turn(gw: GatewayHandle, fake_ob1: Any, scenario: str) -> None:
    """The loop's second step references the tool turn's reasoning; a follow-up turn references both steps'
    reasoning (two stored responses) around the call and its result, which the SDK sends in full."""
    report = run_sdk(gw, scenario)
    loop, follow_up = report["turns"]
    result = {"city": "Oslo", "forecast": "sunny-42 in Oslo"}
    assert loop["toolResults"] == [result]  # the execute function ran with the model's arguments
    assert loop["text"] == "Tool said: " + json.dumps(result, separators=(",", ":"))
    assert (loop["steps"], loop["finishReason"]) == (2, "stop")
    assert follow_up["text"] == "Echo: Thanks!"

    first, second, third = (r["body"] for r in report["requests"])
    assert [t["name"] for t in first["tools"]] == ["weather"]
    [tool_turn_rs] = references(second)
    [call] = [item for item in second["input"] if item.get("type") == "function_call"]
    [output] = [item for item in second["input"] if item.get("type") == "function_call_output"]
    assert output["call_id"] == call["call_id"] and json.loads(output["output"]) == result
    rs_again, answer_rs, answer_msg = references(third)
    assert rs_again == tool_turn_rs and answer_rs.startswith("rs_") and answer_msg.startswith("msg_")
    assert loop["responseIds"][0] != loop["responseIds"][1]  # the references span two stored responses

    chats = fake_ob1.chat_requests
    assert len(chats) == 3
    tool_turn = {
        "role": "assistant",
        "content": None,
        "reasoning_details": issued_reasoning({"tool": ("weather", "")}),
        "tool_calls": [
            {"id": call["call_id"], "type": "function", "function": {"name": "weather", "arguments": call["arguments"]}}
        ],
    }
    tool_result = {"role": "tool", "tool_call_id": call["call_id"], "content": output["output"]}
    prompt = chats[0]["body"]["messages"]
    assert chats[1]["body"]["messages"] == [*prompt, tool_turn, tool_result]
    answer = {
        "role": "assistant",
        "content": loop["text"],
        "reasoning_details": issued_reasoning({"text": loop["text"]}),
    }
    assert chats[2]["body"]["messages"] == [
        *prompt,
        tool_turn,
        tool_result,
        answer,
        {"role": "user", "content": "Thanks!"},
    ]
    assert json.loads(call["arguments"]) == {"city": "Oslo"}


def test_store_false_keeps_the_reasoning_without_storage(gw: GatewayHandle, fake_ob1: Any) -> None:
    """``providerOptions: {openai: {store: false}}``: the SDK asks for ``reasoning.encrypted_content`` and sends
    the reasoning item back in full; the gateway keeps nothing and the upstream still gets its reasoning."""
    report = run_sdk(gw, "two-turns-unstored")
    first, second = report["turns"]
    assert (first["text"], second["text"]) == ("Echo: What is the capital of Norway?", "Echo: And of Sweden?")
    sent = [r["body"] for r in report["requests"]]
    assert all(b["store"] is False and b["include"] == ["reasoning.encrypted_content"] for b in sent)
    assert references(sent[1]) == []
    [reasoning] = [item for item in sent[1]["input"] if item.get("type") == "reasoning"]
    assert reasoning["encrypted_content"]

    assert fake_ob1.chat_requests[1]["body"]["messages"][1] == {
        "role": "assistant",
        "content": first["text"],
        "reasoning_details": issued_reasoning({"text": first["text"]}),
    }
    for response_id in first["responseIds"] + second["responseIds"]:
        stored = retrieve(gw, response_id)
        assert stored.status_code == 404, stored.text
        assert stored.json()["error"]["message"] == f"Response with id '{response_id}' not found.", stored.text
