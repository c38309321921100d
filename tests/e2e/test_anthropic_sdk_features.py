"""What the anthropic SDK (the version pinned in pyproject) offers beyond plain messages, driven through the
gateway as its users call it: structured outputs (``messages.parse``), Anthropic-defined client tools
(bash, text editor), server tools (refused by name), ``count_tokens`` parity and ``models.retrieve``."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import anthropic
import pytest
from pydantic import BaseModel

from tests.fixtures.gateway import GatewayHandle

MODEL = "claude-sonnet-4-5"
CLIENT_TOOLS = [
    {"type": "bash_20250124", "name": "bash"},
    {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
]


class Contact(BaseModel):
    name: str
    email: str
    plan_interest: bool


def client(gw: GatewayHandle) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.base_url, api_key=gw.key, max_retries=0, timeout=30)


def test_messages_parse_returns_the_schema_s_object(gateway: GatewayHandle, fake_ob1: Any) -> None:
    parsed = client(gateway).messages.parse(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "Ann <ann@example.com> wants the pro plan"}],
        output_format=Contact,
    )
    assert isinstance(parsed.parsed_output, Contact)
    body = fake_ob1.chat_requests[-1]["body"]
    assert body["response_format"]["type"] == "json_schema"
    assert set(body["response_format"]["json_schema"]["schema"]["properties"]) == {"name", "email", "plan_interest"}


def test_structured_output_on_a_model_without_it_is_a_clear_400(gateway: GatewayHandle, fake_ob1: Any) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(gateway).messages.parse(
            model="claude-3-7-sonnet-latest",
            max_tokens=100,
            messages=[{"role": "user", "content": "hi"}],
            output_format=Contact,
        )
    assert "structured outputs" in caught.value.message
    assert fake_ob1.chat_requests == []


def _run_bash(command: str, cwd: Path) -> str:
    done = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True, timeout=30)
    return done.stdout + done.stderr


def _edit(tool_input: dict[str, Any], cwd: Path) -> str:
    path = cwd / Path(tool_input["path"]).name
    if tool_input["command"] == "create":
        path.write_text(tool_input["file_text"])
        return f"created {path.name}"
    if tool_input["command"] == "str_replace":
        path.write_text(path.read_text().replace(tool_input["old_str"], tool_input["new_str"], 1))
        return f"edited {path.name}"
    return path.read_text()


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_bash_and_text_editor_client_tools_round_trip(
    gateway: GatewayHandle, fake_ob1: Any, tmp_path: Path, stream: bool
) -> None:
    """The agent loop an SDK user writes: the model calls the Anthropic-defined tools, the user runs them."""
    c = client(gateway)
    prompt = (
        'USE_TOOL str_replace_based_edit_tool {"command": "create", "path": "/repo/hello.txt", "file_text": "hi"} '
        'USE_TOOL str_replace_based_edit_tool {"command": "str_replace", "path": "/repo/hello.txt", '
        '"old_str": "hi", "new_str": "hello"} '
        'USE_TOOL bash {"command": "cat hello.txt"}'
    )
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    for _ in range(4):
        kwargs = {"model": MODEL, "max_tokens": 1024, "tools": CLIENT_TOOLS, "messages": messages}
        if stream:
            with c.messages.stream(**kwargs) as events:
                reply = events.get_final_message()
        else:
            reply = c.messages.create(**kwargs)
        uses = [b for b in reply.content if b.type == "tool_use"]
        if reply.stop_reason != "tool_use":
            break
        results = []
        for use in uses:
            output = _run_bash(use.input["command"], tmp_path) if use.name == "bash" else _edit(use.input, tmp_path)
            results.append({"type": "tool_result", "tool_use_id": use.id, "content": output})
        messages += [{"role": "assistant", "content": reply.content}, {"role": "user", "content": results}]
    assert (tmp_path / "hello.txt").read_text() == "hello"
    assert reply.stop_reason == "end_turn" and reply.content[0].text == "Tool said: hello"
    tools = {t["function"]["name"]: t["function"] for t in fake_ob1.chat_requests[-1]["body"]["tools"]}
    assert set(tools) == {"bash", "str_replace_based_edit_tool"}
    assert "command" in tools["bash"]["parameters"]["properties"]
    assert {"create", "str_replace", "view"} <= set(
        tools["str_replace_based_edit_tool"]["parameters"]["properties"]["command"]["enum"]
    )


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
        {"type": "web_fetch_20250910", "name": "web_fetch"},
        {"type": "code_execution_20250825", "name": "code_execution"},
    ],
    ids=lambda t: t["name"],
)
def test_server_tools_get_a_clear_error_naming_them(gateway: GatewayHandle, fake_ob1: Any, tool: dict) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(gateway).messages.create(
            model=MODEL, max_tokens=100, tools=[tool], messages=[{"role": "user", "content": "search the web"}]
        )
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert tool["name"] in caught.value.message
    assert fake_ob1.chat_requests == [], "nothing is sent upstream (or charged) for a refused request"


COUNT_CASES = [
    ({"messages": [{"role": "user", "content": "hello"}], "tools": CLIENT_TOOLS}, None),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "be brief"}]}, None),
    (
        {
            "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "web_search_20250305", "name": "web_search"}],
        },
        400,
    ),
    ({"messages": [{"role": "robot", "content": "x"}]}, 400),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}]}, 400),
]


@pytest.mark.parametrize(("kwargs", "refused"), COUNT_CASES)
def test_count_tokens_accepts_and_refuses_what_create_does(
    gateway: GatewayHandle, kwargs: dict[str, Any], refused: int | None
) -> None:
    c = client(gateway)
    outcomes = []
    for call in (c.messages.count_tokens, lambda **kw: c.messages.create(max_tokens=16, **kw)):
        try:
            call(model=MODEL, **kwargs)
            outcomes.append(None)
        except anthropic.BadRequestError as exc:
            outcomes.append((exc.status_code, exc.body["error"]["type"]))
    assert outcomes[0] == outcomes[1], outcomes
    assert outcomes[0] == (None if refused is None else (refused, "invalid_request_error"))


def test_count_tokens_validates_the_body_before_the_model(gateway: GatewayHandle) -> None:
    with pytest.raises(anthropic.BadRequestError):
        client(gateway).messages.count_tokens(model="no-such-model", messages="nope")  # type: ignore[arg-type]
    with pytest.raises(anthropic.NotFoundError):
        client(gateway).messages.count_tokens(model="no-such-model", messages=[{"role": "user", "content": "hi"}])


def test_models_retrieve_has_the_anthropic_shape(gateway: GatewayHandle) -> None:
    model = client(gateway).models.retrieve("anthropic/claude-sonnet-4.5")
    assert model.type == "model" and model.id == "claude-sonnet-4-5"  # Anthropic's own shape of the id
    assert model.upstream_id == "anthropic/claude-sonnet-4.5"  # type: ignore[attr-defined]
    assert model.display_name == "Anthropic: Claude Sonnet 4.5"
    assert model.created_at.year >= 2025
