"""Request features the newest clients send (Claude Code on its defaults, the anthropic SDK's newer
surface), translated for an OpenAI-compatible upstream. Each case failed before the gateway knew it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ob1_gateway.translate.anthropic.anthropic_in import anthropic_to_chat
from ob1_gateway.translate.anthropic.context_edits import CLEARED_TOOL_RESULT
from ob1_gateway.translate.chat.system_hoist import hoist_system_messages
from ob1_gateway.translate.invalid import InvalidRequest
from ob1_gateway.translate.model_limits import ModelLimits

CLAUDE = "anthropic/claude-opus-4.5"
GPT = "openai/gpt-5"
CC = {"type": "ephemeral"}


def req(messages: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-opus-5-5",
        "max_tokens": 1000,
        "messages": messages if messages is not None else [{"role": "user", "content": "hi"}],
        **extra,
    }


def plan_body(r: dict[str, Any], model: str = CLAUDE, limits: ModelLimits | None = None) -> dict[str, Any]:
    return anthropic_to_chat(r, upstream_model=model, limits=limits).body


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools", [])]


# -- system-role messages inside `messages` ----------------------------------------------------


def test_system_message_inside_messages_kept_at_its_position_with_cache_control_for_claude() -> None:
    r = req(
        [
            {"role": "user", "content": "hi"},
            {"role": "system", "content": [{"type": "text", "text": "be terse", "cache_control": CC}]},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "go"},
        ],
        system="you are helpful",
    )
    messages = plan_body(r)["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "system", "assistant", "user"]
    assert messages[2]["content"] == [{"type": "text", "text": "be terse", "cache_control": CC}]


def test_system_message_string_for_non_claude_and_blocks_joined() -> None:
    r = req(
        [
            {"role": "user", "content": "hi"},
            {
                "role": "system",
                "content": [{"type": "text", "text": "a", "cache_control": CC}, {"type": "text", "text": "b"}],
            },
        ]
    )
    assert plan_body(r, GPT)["messages"][1] == {"role": "system", "content": "a\n\nb"}


def test_system_message_with_bad_content_is_a_400_at_its_path() -> None:
    with pytest.raises(InvalidRequest) as info:
        plan_body(req([{"role": "user", "content": "hi"}, {"role": "system", "content": [{"type": "image"}]}]))
    assert info.value.param == "messages.1.content.0"


def test_hoist_merges_every_system_message_into_the_leading_one() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "lead"},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "later"},
            {"role": "assistant", "content": "ok"},
        ]
    }
    hoisted = hoist_system_messages(body)
    assert hoisted is not None
    assert hoisted["messages"] == [
        {"role": "system", "content": "lead\n\nlater"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "ok"},
    ]
    assert body["messages"][2]["content"] == "later", "the original body must not be changed"
    assert hoist_system_messages(hoisted) is None, "nothing left to hoist"


def test_hoist_keeps_cache_control_parts() -> None:
    parts = [{"type": "text", "text": "later", "cache_control": CC}]
    body = {"messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": parts}]}
    hoisted = hoist_system_messages(body)
    assert hoisted is not None
    assert hoisted["messages"][0] == {"role": "system", "content": parts}


@pytest.mark.parametrize("content", [7, {"text": "x"}, None], ids=["int", "object", "null"])
def test_hoist_leaves_bodies_it_cannot_merge_alone(content: Any) -> None:
    """A caller's odd system content (the chat route passes bodies through) is the upstream's to refuse."""
    body = {"messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": content}]}
    assert hoist_system_messages(body) is None


# -- effort ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effort", "expected"),
    [("low", "low"), ("medium", "medium"), ("high", "high"), ("xhigh", "xhigh"), ("max", "xhigh"), ("ultra", "high")],
)
def test_effort_levels_map_to_the_nearest_upstream_effort_and_never_fail(effort: str, expected: str) -> None:
    r = req(thinking={"type": "adaptive", "display": "omitted"}, output_config={"effort": effort})
    assert plan_body(r)["reasoning"] == {"effort": expected}


# -- ToolSearch: tool_reference and deferred tools ---------------------------------------------

SEARCH_TOOL = {"name": "ToolSearch", "description": "find tools", "input_schema": {"type": "object"}}
DEFERRED = {
    "name": "NotebookEdit",
    "description": "edit notebooks",
    "input_schema": {"type": "object"},
    "defer_loading": True,
}
OTHER_DEFERRED = {"name": "WebFetch", "description": "fetch", "input_schema": {"type": "object"}, "defer_loading": True}
SEARCH_CALL = {"type": "tool_use", "id": "toolu_s", "name": "ToolSearch", "input": {"query": "notebook"}}
REFERENCE_RESULT = {
    "type": "tool_result",
    "tool_use_id": "toolu_s",
    "content": [{"type": "tool_reference", "tool_name": "NotebookEdit"}],
}


def test_deferred_tools_are_not_sent_until_loaded() -> None:
    body = plan_body(req(tools=[SEARCH_TOOL, DEFERRED, OTHER_DEFERRED]))
    assert tool_names(body) == ["ToolSearch"]


def test_tool_reference_becomes_text_and_loads_the_tool_definition() -> None:
    r = req(
        [
            {"role": "user", "content": "edit my notebook"},
            {"role": "assistant", "content": [SEARCH_CALL]},
            {"role": "user", "content": [REFERENCE_RESULT]},
        ],
        tools=[SEARCH_TOOL, DEFERRED, OTHER_DEFERRED],
    )
    body = plan_body(r)
    assert tool_names(body) == ["ToolSearch", "NotebookEdit"]
    tool_msg = body["messages"][-1]
    assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"] == "toolu_s"
    assert "NotebookEdit" in tool_msg["content"]
    assert "defer_loading" not in str(body["tools"])


def test_tool_choice_naming_a_deferred_tool_sends_it() -> None:
    body = plan_body(req(tools=[SEARCH_TOOL, DEFERRED], tool_choice={"type": "tool", "name": "NotebookEdit"}))
    assert tool_names(body) == ["ToolSearch", "NotebookEdit"]


def test_anthropic_tool_search_server_tool_is_emulated_by_sending_every_deferred_tool() -> None:
    search = {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"}
    body = plan_body(req(tools=[search, DEFERRED, OTHER_DEFERRED]))
    assert tool_names(body) == ["NotebookEdit", "WebFetch"]


def test_tool_reference_without_a_name_is_a_400() -> None:
    bad = {**REFERENCE_RESULT, "content": [{"type": "tool_reference"}]}
    r = req(
        [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [SEARCH_CALL]},
            {"role": "user", "content": [bad]},
        ]
    )
    with pytest.raises(InvalidRequest) as info:
        plan_body(r)
    assert info.value.param == "messages.2.content.0.content.0.tool_name"


# -- max_tokens against the model's limit ------------------------------------------------------


def test_max_tokens_clamped_to_the_catalog_limit() -> None:
    limits = ModelLimits.from_catalog_entry({"top_provider": {"max_completion_tokens": 64000}})
    assert plan_body(req(max_tokens=128000), limits=limits)["max_tokens"] == 64000
    assert plan_body(req(max_tokens=1000), limits=limits)["max_tokens"] == 1000
    assert plan_body(req(max_tokens=128000))["max_tokens"] == 128000, "unknown limit: forwarded as sent"


def test_reasoning_budget_stays_below_the_clamped_limit() -> None:
    limits = ModelLimits(max_output_tokens=64000)
    body = plan_body(req(max_tokens=128000, thinking={"type": "enabled", "budget_tokens": 100000}), limits=limits)
    assert body["max_tokens"] == 64000
    assert 0 < body["reasoning"]["max_tokens"] < 64000
    small = plan_body(req(max_tokens=128000, thinking={"type": "enabled", "budget_tokens": 4000}), limits=limits)
    assert small["reasoning"] == {"max_tokens": 4000}


# -- structured outputs ------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
    "additionalProperties": False,
}


def test_output_config_format_becomes_response_format() -> None:
    body = plan_body(req(output_config={"format": {"type": "json_schema", "schema": SCHEMA}}))
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "strict": True, "schema": SCHEMA},
    }


def test_structured_outputs_refused_where_the_model_cannot() -> None:
    limits = ModelLimits.from_catalog_entry({"supported_parameters": ["max_tokens", "tools"]})
    with pytest.raises(InvalidRequest) as info:
        plan_body(req(output_config={"format": {"type": "json_schema", "schema": SCHEMA}}), limits=limits)
    assert info.value.param == "output_config.format" and "structured outputs" in info.value.message
    listed = ModelLimits.from_catalog_entry({"supported_parameters": ["structured_outputs"]})
    assert "response_format" in plan_body(
        req(output_config={"format": {"type": "json_schema", "schema": SCHEMA}}), limits=listed
    )


def test_malformed_output_format_is_a_400() -> None:
    with pytest.raises(InvalidRequest) as info:
        plan_body(req(output_config={"format": {"type": "xml"}}))
    assert info.value.param == "output_config.format"


# -- Anthropic-defined client tools and server tools --------------------------------------------


@pytest.mark.parametrize(
    ("tool", "command_enum"),
    [
        ({"type": "bash_20250124", "name": "bash"}, None),
        (
            {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
            ["view", "create", "str_replace", "insert"],
        ),
        (
            {"type": "text_editor_20250124", "name": "str_replace_editor"},
            ["view", "create", "str_replace", "insert", "undo_edit"],
        ),
        (
            {"type": "memory_20250818", "name": "memory"},
            ["view", "create", "str_replace", "insert", "delete", "rename"],
        ),
    ],
)
def test_client_tools_become_functions_with_their_documented_schema(tool: dict[str, Any], command_enum: Any) -> None:
    body = plan_body(req(tools=[tool], tool_choice={"type": "tool", "name": tool["name"]}))
    fn = body["tools"][0]["function"]
    assert fn["name"] == tool["name"] and fn["description"]
    props = fn["parameters"]["properties"]
    assert "command" in props
    if command_enum is not None:
        assert props["command"]["enum"] == command_enum and "path" in props
    assert body["tool_choice"] == {"type": "function", "function": {"name": tool["name"]}}


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search_20250305", "name": "web_search"},
        {"type": "web_fetch_20250910", "name": "web_fetch"},
        {"type": "code_execution_20250825", "name": "code_execution"},
        {"type": "computer_20250124", "name": "computer", "display_width_px": 1024, "display_height_px": 768},
    ],
)
def test_server_tools_are_refused_by_name(tool: dict[str, Any]) -> None:
    custom = {"name": "get_weather", "input_schema": {"type": "object"}}
    with pytest.raises(InvalidRequest) as info:
        plan_body(req(tools=[custom, tool]))
    assert info.value.param == "tools.1.type" and tool["name"] in info.value.message


def test_mcp_servers_refused() -> None:
    with pytest.raises(InvalidRequest) as info:
        plan_body(req(mcp_servers=[{"type": "url", "url": "https://mcp.example.com", "name": "x"}]))
    assert info.value.param == "mcp_servers"
    assert "tools" not in plan_body(req(mcp_servers=[])), "an empty list asks for nothing"


def test_tool_strict_passed_on() -> None:
    tool = {"name": "f", "input_schema": {"type": "object"}, "strict": True}
    assert plan_body(req(tools=[tool]))["tools"][0]["function"]["strict"] is True


# -- context management ------------------------------------------------------------------------


def tool_history(n: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "start"}]
    for i in range(n):
        messages.append(
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Read", "input": {"i": i}}]}
        )
        messages.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": f"result {i} " * 50}],
            }
        )
    return messages


def test_clear_tool_uses_keeps_the_last_results_once_triggered() -> None:
    edit = {
        "type": "clear_tool_uses_20250919",
        "trigger": {"type": "tool_uses", "value": 3},
        "keep": {"type": "tool_uses", "value": 2},
    }
    r = req(tool_history(5), context_management={"edits": [edit]})
    original = copy.deepcopy(r)
    tool_msgs = [m for m in plan_body(r)["messages"] if m["role"] == "tool"]
    assert [m["content"] == CLEARED_TOOL_RESULT for m in tool_msgs] == [True, True, True, False, False]
    assert r == original, "the client's request must not be mutated"


def test_clear_tool_uses_below_the_trigger_changes_nothing() -> None:
    edit = {"type": "clear_tool_uses_20250919", "trigger": {"type": "input_tokens", "value": 10**6}}
    tool_msgs = [
        m
        for m in plan_body(req(tool_history(5), context_management={"edits": [edit]}))["messages"]
        if m["role"] == "tool"
    ]
    assert all(m["content"] != CLEARED_TOOL_RESULT for m in tool_msgs)


def test_clear_tool_uses_exclude_and_clear_inputs() -> None:
    edit = {
        "type": "clear_tool_uses_20250919",
        "trigger": {"type": "tool_uses", "value": 0},
        "keep": {"type": "tool_uses", "value": 0},
        "exclude_tools": ["Keep"],
        "clear_tool_inputs": True,
    }
    history = tool_history(2)
    history[3]["content"][0]["name"] = "Keep"
    body = plan_body(req(history, context_management={"edits": [edit]}))
    calls = [m["tool_calls"][0] for m in body["messages"] if m.get("tool_calls")]
    assert [c["function"]["arguments"] for c in calls] == ["{}", '{"i":1}']
    tool_msgs = [m["content"] for m in body["messages"] if m["role"] == "tool"]
    assert tool_msgs[0] == CLEARED_TOOL_RESULT and tool_msgs[1] != CLEARED_TOOL_RESULT


def test_clear_thinking_accepted_and_unknown_edits_refused() -> None:
    ok = req(context_management={"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]})
    assert plan_body(ok)["messages"] == [{"role": "user", "content": "hi"}]
    with pytest.raises(InvalidRequest) as info:
        plan_body(req(context_management={"edits": [{"type": "summarize_20260101"}]}))
    assert info.value.param == "context_management.edits.0.type"


# -- cache_control, documents, search results, files ---------------------------------------------


def test_top_level_cache_control_puts_a_breakpoint_on_the_last_part_for_claude_only() -> None:
    r = req(
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "yo"},
            {"role": "user", "content": "more"},
        ],
        cache_control=CC,
    )
    assert plan_body(r)["messages"][-1] == {
        "role": "user",
        "content": [{"type": "text", "text": "more", "cache_control": CC}],
    }
    assert plan_body(r, GPT)["messages"][-1] == {"role": "user", "content": "more"}


def test_content_document_and_search_result_become_text() -> None:
    doc = {
        "type": "document",
        "title": "Notes",
        "source": {"type": "content", "content": [{"type": "text", "text": "alpha"}, {"type": "text", "text": "beta"}]},
    }
    result = {
        "type": "search_result",
        "source": "https://e.com/a",
        "title": "A",
        "content": [{"type": "text", "text": "gamma"}],
        "citations": {"enabled": True},
    }
    parts = plan_body(req([{"role": "user", "content": [doc, result, {"type": "text", "text": "summarise"}]}]))[
        "messages"
    ][0]["content"]
    assert parts[0] == {"type": "text", "text": "Notes\n\nalpha\n\nbeta"}
    assert parts[1]["type"] == "text" and "gamma" in parts[1]["text"] and "https://e.com/a" in parts[1]["text"]


def test_search_result_inside_a_tool_result_becomes_text() -> None:
    result = {"type": "search_result", "source": "s", "title": "T", "content": [{"type": "text", "text": "found it"}]}
    r = req(
        [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "search", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [result]}]},
        ]
    )
    assert "found it" in plan_body(r)["messages"][-1]["content"]


@pytest.mark.parametrize("kind", ["image", "document"])
def test_files_api_sources_are_refused_clearly(kind: str) -> None:
    block = {"type": kind, "source": {"type": "file", "file_id": "file_011"}}
    with pytest.raises(InvalidRequest) as info:
        plan_body(req([{"role": "user", "content": [block]}]))
    assert "Files API" in info.value.message and info.value.param == "messages.0.content.0.source.type"
