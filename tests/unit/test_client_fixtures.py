"""What real clients sent (``tests/fixtures/clients``, recorded by ``make capture-clients``), replayed through
the translator: each request translates, and the upstream body is one the provider accepts.

A new client release is re-captured into new fixtures; the version checks below fail until it is, so a
changed request shape shows up here rather than in a user's report.
"""

from __future__ import annotations

import asyncio
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from ob1_gateway.translate.anthropic.anthropic_in import ChatPlan, anthropic_to_chat
from ob1_gateway.translate.invalid import InvalidRequest
from ob1_gateway.upstream.catalog import Model, ModelCatalog

from tests.fakes.ob1_fake import EFFORTS, MODELS, MODELS_BY_ID, provider_refusal

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "clients"
CLAUDE_CODE_PACKAGE = "@anthropic-ai/claude-code"
NPM_PINS = json.loads((REPO / "package.json").read_text())["devDependencies"]


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


RECORDINGS = {path.stem: _load(path) for path in sorted(FIXTURES.glob("*.json"))}
CASES = [
    pytest.param(name, i, request, id=f"{name}#{i}")
    for name, recording in RECORDINGS.items()
    for i, request in enumerate(recording["requests"])
    if request["method"] == "POST" and request["path"] == "/v1/messages"
]
# Requests the gateway must refuse, with the word its message must name.
REFUSED = {("anthropic-2.17.0-client-tools", 1): "web_search"}


def resolve(name: str) -> Model:
    async def fetch() -> list[dict[str, Any]]:
        return MODELS

    return asyncio.run(ModelCatalog(fetch, ttl_seconds=60).resolve(name))


def translate(body: dict[str, Any]) -> tuple[Model, ChatPlan]:
    model = resolve(body["model"])
    return model, anthropic_to_chat(body, upstream_model=model.id, limits=model.limits)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or [] if isinstance(p, dict))


def test_every_client_scenario_was_recorded_and_ran() -> None:
    scenarios = {(r["client"], r["scenario"]) for r in RECORDINGS.values()}
    for wanted in ("defaults-text", "defaults-tool", "haiku-xhigh", "toolsearch", "sonnet45-pinned"):
        assert ("claude-code", wanted) in scenarios
    assert ("claude-agent-sdk", "query") in scenarios
    assert {("anthropic", "parse"), ("anthropic", "client-tools")} <= scenarios
    for wanted in ("two-turns", "two-turns-stream", "tool-loop", "tool-loop-stream", "two-turns-unstored"):
        assert ("vercel-ai", wanted) in scenarios
    for name, recording in RECORDINGS.items():
        assert recording["result"]["returncode"] == 0, f"{name}: the client failed while it was recorded"
        assert recording["requests"], name


@pytest.mark.parametrize(
    ("client", "installed"),
    [
        ("claude-code", NPM_PINS[CLAUDE_CODE_PACKAGE]),
        ("anthropic", version("anthropic")),
        ("claude-agent-sdk", version("claude-agent-sdk")),
        ("vercel-ai", NPM_PINS["ai"]),
    ],
)
def test_fixtures_match_the_client_versions_the_tests_run(client: str, installed: str) -> None:
    recorded = {r["version"] for r in RECORDINGS.values() if r["client"] == client}
    assert installed in recorded, f"{client} {installed} is what the tests run: `make capture-clients` for it"


def test_vercel_ai_fixtures_record_the_pinned_provider() -> None:
    """The request body is built by ``@ai-sdk/openai``, not ``ai``: a provider bump alone needs a capture too
    (``python -m tests.clients.capture_vercel_ai``)."""
    recordings = [r for r in RECORDINGS.values() if r["client"] == "vercel-ai" and r["version"] == NPM_PINS["ai"]]
    assert recordings
    for recording in recordings:
        assert {name: recording["packages"][name] for name in ("ai", "@ai-sdk/openai", "zod")} == {
            name: NPM_PINS[name] for name in ("ai", "@ai-sdk/openai", "zod")
        }, recording["scenario"]


@pytest.mark.parametrize(("name", "index", "request_"), CASES)
def test_recorded_request_translates_into_a_body_the_provider_accepts(
    name: str, index: int, request_: dict[str, Any]
) -> None:
    body = request_["body"]
    refused = REFUSED.get((name, index))
    if refused:
        with pytest.raises(InvalidRequest) as caught:
            translate(body)
        assert refused in caught.value.message
        return
    model, plan = translate(body)
    upstream = plan.body
    assert provider_refusal(upstream, MODELS_BY_ID[model.id]) is None
    assert upstream["max_tokens"] <= model.limits.max_output_tokens

    messages = upstream["messages"]
    assert {m["role"] for m in messages} <= {"system", "user", "assistant", "tool"}
    # every tool result answers a tool call of the assistant message before it
    open_calls: set[str] = set()
    for message in messages:
        if message["role"] == "assistant":
            open_calls = {c["id"] for c in message.get("tool_calls") or []}
        elif message["role"] == "tool":
            assert message["tool_call_id"] in open_calls
    # the role "system" messages arrive in place (after the first user turn), their text intact
    in_place = [m for m in body["messages"] if m["role"] == "system"]
    upstream_systems = [m for m in messages if m["role"] == "system"]
    assert len(upstream_systems) == (1 if body.get("system") else 0) + len(in_place)
    for sent in in_place:
        position = body["messages"].index(sent)
        assert _text(messages[position + (1 if body.get("system") else 0)]["content"]) == _text(sent["content"])
    if upstream["model"].startswith("anthropic/") and any("cache_control" in b for b in body.get("system") or []):
        assert any("cache_control" in p for p in upstream_systems[0]["content"])

    effort = (body.get("output_config") or {}).get("effort")
    if effort:
        assert upstream["reasoning"]["effort"] in EFFORTS
    names = {t["function"]["name"] for t in upstream.get("tools") or []}
    sent_tools = {t["name"]: t for t in body.get("tools") or []}
    assert "DeferredToolPlaceholder" not in names
    referenced = {
        part["tool_name"]
        for m in body["messages"]
        if isinstance(m["content"], list)
        for block in m["content"]
        if block.get("type") == "tool_result" and isinstance(block.get("content"), list)
        for part in block["content"]
        if part.get("type") == "tool_reference"
    }
    assert referenced <= names
    for tool_name, tool in sent_tools.items():
        if tool.get("defer_loading") and tool_name not in referenced:
            assert tool_name not in names
        elif "input_schema" in tool or tool.get("type", "custom") != "custom":
            assert plan.tool_names.shorten(tool_name) in names, tool_name
    called = {c["function"]["name"] for m in messages for c in m.get("tool_calls") or []}
    assert called <= names, "a tool called in the history must be defined upstream"
    if body.get("stream"):
        assert upstream["stream"] is True and upstream["stream_options"] == {"include_usage": True}
