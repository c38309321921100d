"""Anthropic ``tools`` -> OpenAI function tools, for an upstream that only runs function tools.

Decisions (each covered by a test):
- Custom tools (``type`` absent or ``custom``) become functions; ``strict`` is passed on.
- Anthropic-defined *client* tools carry no ``input_schema`` (bash, text editor, memory): they become
  functions with the input schemas Anthropic documents, under the name the client gave, so the
  ``tool_use`` that comes back is the one the client's tool runner expects.
- *Server* tools (web search, web fetch, code execution, computer use, …) and ``mcp_servers`` run on
  Anthropic's side; an OpenAI-compatible upstream cannot run them, and dropping them would let the model
  invent their results, so they are refused by name.
- The web tools (``web_search_*``, ``web_fetch_*``) are the exception when the gateway runs them
  (``OB1GW_WEB_SEARCH`` / ``OB1GW_WEB_FETCH``): they are read into ``WebTools`` (``web_tools_of``) and the loop
  offers its own functions in their place.
- Deferred tools (``defer_loading: true``) are sent only once the conversation loaded them with a
  ``tool_reference`` (Claude Code's ToolSearch) or ``tool_choice`` names them. Anthropic's own tool-search
  server tools cannot run upstream either; with one present every deferred tool is sent in full, which
  is what a search would have found.
"""

from __future__ import annotations

from typing import Any

from ..invalid import InvalidRequest
from ..tool_names import ToolNameMap
from ..web_tools import FETCH_FUNCTION, SEARCH_FUNCTION, FetchOptions, SearchOptions, WebTools, domain_list

__all__ = ["loaded_tool_names", "tools_to_functions", "web_function", "web_tools_of"]

_PATH = {"type": "string", "description": "Absolute path of the file or directory."}
_VIEW_RANGE = {
    "type": "array",
    "items": {"type": "integer"},
    "description": "Optional [start_line, end_line] to view (1-indexed; -1 as end means to the end).",
}
_BASH = {
    "description": "Run a command in a persistent bash shell. Set restart to true to restart the shell.",
    "parameters": {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The bash command to run."},
            "restart": {"type": "boolean", "description": "Restart the bash session."},
        },
    },
}


def _editor(commands: list[str], description: str, insert_field: str, **extra: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "command": {"type": "string", "enum": commands},
        "path": _PATH,
        "file_text": {"type": "string", "description": "Content of the file to create."},
        "old_str": {"type": "string", "description": "Exact text to replace (must match once)."},
        "new_str": {"type": "string", "description": "Replacement text."},
        "insert_line": {"type": "integer", "description": "Line number after which to insert (0 = start)."},
        "view_range": _VIEW_RANGE,
        **extra,
    }
    if insert_field != "new_str":
        properties[insert_field] = {"type": "string", "description": "Text to insert."}
    return {
        "description": description,
        "parameters": {"type": "object", "properties": properties, "required": ["command"]},
    }


_EDITOR_DESCRIPTION = "View, create and edit text files: view, create, str_replace, insert"
_OLD_EDITOR = _editor(
    ["view", "create", "str_replace", "insert", "undo_edit"], _EDITOR_DESCRIPTION + ", undo_edit.", "new_str"
)
_NEW_EDITOR = _editor(["view", "create", "str_replace", "insert"], _EDITOR_DESCRIPTION + ".", "insert_text")
_MEMORY = _editor(
    ["view", "create", "str_replace", "insert", "delete", "rename"],
    "Read and write files in the /memories directory that persists across conversations: "
    "view, create, str_replace, insert, delete, rename.",
    "insert_text",
    old_path={"type": "string", "description": "rename: current path."},
    new_path={"type": "string", "description": "rename: new path."},
)
# Anthropic-defined client tools by type prefix (the date suffix varies by version).
_CLIENT_TOOLS = {
    "bash_": _BASH,
    "text_editor_20241022": _OLD_EDITOR,
    "text_editor_20250124": _OLD_EDITOR,
    "text_editor_": _NEW_EDITOR,
    "memory_": _MEMORY,
}
_TOOL_SEARCH_PREFIX = "tool_search_tool_"


_WEB_TOOL_PREFIXES = {"web_search_": SEARCH_FUNCTION, "web_fetch_": FETCH_FUNCTION}


def web_function(kind: Any) -> str | None:
    """The gateway function an Anthropic web tool type stands for (``web_search`` / ``web_fetch``), or None."""
    if not isinstance(kind, str):
        return None
    return next((fn for prefix, fn in _WEB_TOOL_PREFIXES.items() if kind.startswith(prefix)), None)


def web_tools_of(tools: Any, runs: frozenset[str]) -> WebTools:
    """The web tools a request offers that the gateway runs (``runs``: the function names it runs)."""
    search: SearchOptions | None = None
    fetch: FetchOptions | None = None
    for i, tool in enumerate(tools or []):
        function = web_function(tool.get("type"))
        if function is None or function not in runs:
            continue
        path = f"tools.{i}"
        if (search if function == SEARCH_FUNCTION else fetch) is not None:
            raise InvalidRequest(f"{path}: the {function} tool is offered twice; offer it once", f"{path}.type")
        allowed = domain_list(tool.get("allowed_domains"), f"{path}.allowed_domains")
        blocked = domain_list(tool.get("blocked_domains"), f"{path}.blocked_domains")
        if allowed and blocked:
            raise InvalidRequest(
                f"{path}: allowed_domains and blocked_domains cannot be used together", f"{path}.allowed_domains"
            )
        max_uses = _positive(tool.get("max_uses"), f"{path}.max_uses")
        if function == SEARCH_FUNCTION:
            location = tool.get("user_location")
            if location is not None and not isinstance(location, dict):
                raise InvalidRequest(f"{path}.user_location: must be an object", f"{path}.user_location")
            search = SearchOptions(max_uses, allowed, blocked, location)
        else:
            citations = tool.get("citations")
            cite = isinstance(citations, dict) and citations.get("enabled") is True
            tokens = _positive(tool.get("max_content_tokens"), f"{path}.max_content_tokens")
            fetch = FetchOptions(max_uses, allowed, blocked, tokens, cite)
    return WebTools(search, fetch)


def _positive(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(f"{path}: must be a positive integer", path)
    return value


def _client_tool(kind: str) -> dict[str, Any] | None:
    return next((spec for prefix, spec in _CLIENT_TOOLS.items() if kind.startswith(prefix)), None)


def loaded_tool_names(messages: Any) -> set[str]:
    """Tool names the conversation loaded with ``tool_reference`` blocks inside ``tool_result`` content."""
    names: set[str] = set()
    for msg in messages if isinstance(messages, list) else ():
        content = msg.get("content") if isinstance(msg, dict) else None
        for block in content if isinstance(content, list) else ():
            inner = block.get("content") if isinstance(block, dict) and block.get("type") == "tool_result" else None
            for ref in inner if isinstance(inner, list) else ():
                if isinstance(ref, dict) and ref.get("type") == "tool_reference":
                    name = ref.get("tool_name")
                    if isinstance(name, str):
                        names.add(name)
    return names


def tools_to_functions(
    tools: Any, names: ToolNameMap, *, loaded: set[str], web: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The function tools to send upstream; ``loaded`` names the deferred tools the conversation uses; the web
    tools whose function is in ``web`` are left to the gateway's loop."""
    if tools is None:
        return []
    search_present = any(isinstance(t, dict) and str(t.get("type", "")).startswith(_TOOL_SEARCH_PREFIX) for t in tools)
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):  # their shape is AnthropicTool's (schema.py)
        kind = tool.get("type")
        name = tool["name"]
        callers = tool.get("allowed_callers")
        if callers is not None and "direct" not in callers:
            raise InvalidRequest(
                f"tools.{i}.allowed_callers: '{name}' may only be called from code execution ({', '.join(callers)}), "
                "which runs on Anthropic's servers and is not available through this gateway; allow 'direct' calls",
                f"tools.{i}.allowed_callers",
            )
        if web_function(kind) in web:
            continue  # run by the gateway (web_tools_of)
        if isinstance(kind, str) and kind.startswith(_TOOL_SEARCH_PREFIX):
            continue  # emulated: the deferred tools it would search go upstream in full
        if tool.get("defer_loading") is True and name not in loaded and not search_present:
            continue
        if kind in (None, "custom"):
            fn = _custom_function(tool, i)
        elif isinstance(kind, str) and (spec := _client_tool(kind)) is not None:
            fn = {**spec}
        else:
            raise InvalidRequest(
                f"tools.{i}: the server tool '{name}' ({kind}) runs on Anthropic's servers and is not "
                "available through this gateway; remove it or define it as a client tool",
                f"tools.{i}.type",
            )
        if tool.get("strict") is True:
            fn["strict"] = True
        out.append({"type": "function", "function": {"name": names.shorten(name), **fn}})
    return out


def _custom_function(tool: dict[str, Any], i: int) -> dict[str, Any]:
    schema = tool.get("input_schema")
    if schema is None:
        schema = {"type": "object", "properties": {}}
    fn: dict[str, Any] = {}
    if isinstance(tool.get("description"), str):
        fn["description"] = tool["description"]
    fn["parameters"] = schema
    return fn
