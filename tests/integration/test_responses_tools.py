"""Responses API tools the client runs itself (custom, local_shell, namespaced functions) and hosted ones
(omitted, or refused by name when the request needs them), and logprobs, through the official openai SDK
against the gateway and the fake OB-1's echo agent (``USE_TOOL <name> <json>`` makes it call a tool)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import scripts
from tests.fixtures.gateway import GatewayHandle

GPT = "gpt-4o-mini"
PATCH = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch"
APPLY_PATCH = {"type": "custom", "name": "apply_patch", "description": "Edit files", "format": {"type": "text"}}
SPAWN = {"type": "function", "name": "spawn_agent", "parameters": {"type": "object", "properties": {}}}
AGENTS = {"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents", "tools": [SPAWN]}


def sdk(gw: GatewayHandle) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url + "/v1", api_key=gw.key, max_retries=0, timeout=30)


def create(gw: GatewayHandle, stream: bool, **kwargs: Any) -> Any:
    if not stream:
        return sdk(gw).responses.create(model=GPT, **kwargs)
    with sdk(gw).responses.stream(model=GPT, **kwargs) as events:
        return events.get_final_response()


@pytest.mark.parametrize("stream", [False, True])
def test_custom_tool_round_trip(gw_fake: tuple[GatewayHandle, Any], stream: bool) -> None:
    gw, fake = gw_fake
    prompt = "USE_TOOL apply_patch " + json.dumps({"input": PATCH})
    first = create(gw, stream, input=prompt, tools=[APPLY_PATCH], store=False)
    [call] = first.output
    assert call.type == "custom_tool_call" and call.name == "apply_patch" and call.input == PATCH
    upstream_tool = fake.chat_requests[-1]["body"]["tools"][0]["function"]
    assert upstream_tool["name"] == "apply_patch" and upstream_tool["parameters"]["required"] == ["input"]
    second = create(
        gw,
        stream,
        input=[
            {"role": "user", "content": prompt},
            {"type": "custom_tool_call", "call_id": call.call_id, "name": "apply_patch", "input": call.input},
            {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "Done!"},
        ],
        tools=[APPLY_PATCH],
        store=False,
    )
    assert second.output_text == "Tool said: Done!"
    sent = fake.chat_requests[-1]["body"]["messages"]
    assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"input": PATCH}


@pytest.mark.parametrize("stream", [False, True])
def test_local_shell_and_namespaced_calls(gw_fake: tuple[GatewayHandle, Any], stream: bool) -> None:
    gw, fake = gw_fake
    shell = create(gw, stream, input='USE_TOOL local_shell {"command": ["ls", "-l"]}', tools=[{"type": "local_shell"}])
    [call] = shell.output
    assert call.type == "local_shell_call" and call.action.command == ["ls", "-l"] and call.action.type == "exec"
    spawned = create(gw, stream, input="USE_TOOL multi_agent_v1__spawn_agent {}", tools=[AGENTS])
    [call] = spawned.output
    assert call.type == "function_call" and call.name == "spawn_agent" and call.namespace == "multi_agent_v1"
    answered = create(
        gw,
        stream,
        input=[
            {"role": "user", "content": "USE_TOOL multi_agent_v1__spawn_agent {}"},
            {"type": "function_call", "call_id": "c1", "name": "spawn_agent", "namespace": "multi_agent_v1",
             "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "agent 7"},
        ],
        tools=[AGENTS],
    )  # fmt: skip
    assert answered.output_text == "Tool said: agent 7"
    assert fake.chat_requests[-1]["body"]["messages"][1]["tool_calls"][0]["function"]["name"] == (
        "multi_agent_v1__spawn_agent"
    )


def test_hosted_tools_omitted_visibly_or_refused_by_name(gw_fake: tuple[GatewayHandle, Any]) -> None:
    """Codex CLI offers web_search on every request: it is left out and named in a header. A request that
    needs a hosted tool is refused, naming it; nothing goes upstream."""
    gw, fake = gw_fake
    body = {"model": GPT, "input": "hi", "tools": [SPAWN, {"type": "web_search", "external_web_access": False}]}
    headers = {"Authorization": f"Bearer {gw.key}"}
    response = httpx.post(gw.base_url + "/v1/responses", json=body, headers=headers, timeout=30)
    assert response.status_code == 200 and response.headers["x-ob1gw-omitted-tools"] == "web_search"
    assert [t["function"]["name"] for t in fake.chat_requests[-1]["body"]["tools"]] == ["spawn_agent"]
    sent = len(fake.chat_requests)
    with pytest.raises(openai.BadRequestError) as caught:
        interpreter = {"type": "code_interpreter", "container": {"type": "auto"}}
        sdk(gw).responses.create(model=GPT, input="x", tools=[interpreter], tool_choice="required")
    assert caught.value.body["param"] == "tools[0].type" and "code_interpreter" in caught.value.message
    assert len(fake.chat_requests) == sent


def token(text: str, logprob: float) -> dict[str, Any]:
    raw = list(text.encode())
    return {
        "token": text,
        "logprob": logprob,
        "bytes": raw,
        "top_logprobs": [{"token": text, "logprob": logprob, "bytes": raw}],
    }


LOGPROBS = [token("Hi", -0.1), token("!", -0.2)]


@pytest.mark.parametrize("stream", [False, True])
def test_logprobs_requested_and_returned(gw_fake: tuple[GatewayHandle, Any], stream: bool) -> None:
    gw, fake = gw_fake
    if stream:
        chunks = scripts.text_stream("Hi!")
        pieces = [
            c for c in chunks if isinstance(c, dict) and c.get("choices") and c["choices"][0]["delta"].get("content")
        ]
        for piece, tokens in zip(pieces, ([LOGPROBS[0]], [LOGPROBS[1]], [], []), strict=False):
            piece["choices"][0]["logprobs"] = {"content": tokens}
        fake.enqueue(chunks)
    else:
        answer = scripts.completion("Hi!")
        answer["choices"][0]["logprobs"] = {"content": LOGPROBS}
        fake.enqueue(answer)
    reply = create(gw, stream, input="x", top_logprobs=1, include=["message.output_text.logprobs"])
    sent = fake.chat_requests[-1]["body"]
    assert sent["logprobs"] is True and sent["top_logprobs"] == 1
    assert [t.token for t in reply.output[0].content[0].logprobs] == ["Hi", "!"]
    assert reply.output[0].content[0].logprobs[0].top_logprobs[0].logprob == -0.1


@pytest.fixture
def gw_fake(gateway: GatewayHandle, fake_ob1: Any) -> tuple[GatewayHandle, Any]:
    return gateway, fake_ob1
