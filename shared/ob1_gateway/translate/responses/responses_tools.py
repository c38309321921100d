"""Responses API tools on a chat-completions upstream, both ways (pure: no I/O).

Every tool the client runs itself becomes an upstream function the model can call, and the call comes back
as the item type the client defined:
- ``function`` as is; inside a ``namespace`` tool (Codex groups its sub-agent tools so) as
  ``<namespace>__<name>``, answered as a ``function_call`` carrying ``namespace``;
- ``custom`` (free-form input, e.g. Codex's ``apply_patch``): a function of one string ``input`` (the tool's
  ``format`` — a grammar or ``text`` — is described to the model; no upstream enforces grammars), answered
  as a ``custom_tool_call`` with that ``input``;
- ``local_shell``: a function taking the exec action (``command`` and options), answered as a
  ``local_shell_call``.
Hosted tools (``web_search``, ``file_search``, ``code_interpreter``, ``image_generation``, ``computer*``,
``mcp``, …) run on OpenAI's servers and cannot run here. A request that needs one (``tool_choice`` names it,
or it is all the request offers with ``tool_choice: "required"``) is refused by name; otherwise it is
omitted, and the route says so in ``x-ob1gw-omitted-tools`` (Codex CLI offers ``web_search`` on every
request, and would stop working if that were a 400). ``web_search`` (and its ``_preview`` / dated types) is the
exception when the gateway runs web search (``web``): it becomes ``ResponsesTools.web``, run by the gateway's loop;
its ``filters.allowed_domains`` and ``user_location`` are honoured, ``search_context_size`` and
``external_web_access`` are hints with no effect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..invalid import InvalidRequest
from ..json_codec import COMPACT_UTF8
from ..tool_names import ToolNameMap
from ..web_tools import SEARCH_FUNCTION, SearchOptions, WebTools, domain_list

__all__ = ["SHELL_PARAMETERS", "CallKind", "ResponsesTools"]

NAMESPACE_SEPARATOR = "__"
SHELL_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "command": {"type": "array", "items": {"type": "string"}, "description": "The command and its arguments."},
        "working_directory": {"type": "string"},
        "timeout_ms": {"type": "integer"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "user": {"type": "string"},
    },
    "required": ["command"],
}
_CLIENT_TOOLS = frozenset({"function", "custom", "local_shell", "namespace"})
WEB_SEARCH_TOOLS = frozenset(
    {"web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11"}
)


@dataclass(frozen=True)
class CallKind:
    """What an upstream function stands for: the item type a call to it becomes, and its client name."""

    kind: str  # function | custom | local_shell
    name: str
    namespace: str | None = None


@dataclass
class ResponsesTools:
    names: ToolNameMap = field(default_factory=ToolNameMap)
    kinds: dict[str, CallKind] = field(default_factory=dict)  # upstream function name -> what it stands for
    omitted: list[str] = field(default_factory=list)  # hosted tools left out (not required by the request)
    web_on: frozenset[str] = frozenset()  # the gateway's web functions that are on (settings)
    web: WebTools = field(default_factory=WebTools)  # the web tools the request offers that the gateway runs

    # -- definitions ------------------------------------------------------------------------------

    def to_chat(self, tools: Any, tool_choice: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        hosted: list[tuple[int, str]] = []
        for i, tool in enumerate(tools or []):
            kind = tool.get("type")
            if kind == "namespace":
                out.extend(self._namespace(tool, f"tools[{i}]"))
            elif kind in _CLIENT_TOOLS:
                out.append(self._tool(tool, f"tools[{i}]", None))
            elif kind in WEB_SEARCH_TOOLS and SEARCH_FUNCTION in self.web_on:
                self.web = WebTools(search=_search_options(tool, f"tools[{i}]"))
            else:
                hosted.append((i, str(kind)))
        required = tool_choice == "required" and not out and not self.web
        for i, kind in hosted:
            if required or self._chosen(tool_choice, kind):
                raise InvalidRequest(
                    f"tools[{i}]: the hosted tool {kind!r} runs on OpenAI's servers and is not available through "
                    "this gateway",
                    f"tools[{i}].type",
                )
            self.omitted.append(kind)
        return out

    @staticmethod
    def _chosen(choice: Any, kind: str) -> bool:
        if not isinstance(choice, dict):
            return False
        if choice.get("type") == kind:
            return True
        allowed = choice.get("tools") if choice.get("type") == "allowed_tools" else None
        return (
            choice.get("mode") == "required"
            and isinstance(allowed, list)
            and all(isinstance(t, dict) and t.get("type") == kind for t in allowed)
        )

    def _namespace(self, tool: dict[str, Any], path: str) -> list[dict[str, Any]]:
        space = tool.get("name")
        if not isinstance(space, str) or not space:
            raise InvalidRequest(f"{path}.name: a namespace needs a name", f"{path}.name")
        inner = tool.get("tools")
        if not isinstance(inner, list):
            raise InvalidRequest(f"{path}.tools: must be a list of function or custom tools", f"{path}.tools")
        out = []
        for j, sub in enumerate(inner):
            if not isinstance(sub, dict) or sub.get("type") not in ("function", "custom"):
                raise InvalidRequest(f"{path}.tools[{j}]: must be a function or custom tool", f"{path}.tools[{j}]")
            out.append(self._tool(sub, f"{path}.tools[{j}]", space))
        return out

    def _tool(self, tool: dict[str, Any], path: str, namespace: str | None) -> dict[str, Any]:
        kind = tool["type"]
        name = "local_shell" if kind == "local_shell" else tool.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"{path}: {kind} tool name is required", f"{path}.name")
        fn: dict[str, Any] = {"name": self.upstream_name(name, namespace)}
        description = tool.get("description")
        if kind == "function":
            params = tool.get("parameters")
            if params is None:
                params = {"type": "object", "properties": {}}
            elif not isinstance(params, dict):
                raise InvalidRequest(f"{path}: parameters must be an object", f"{path}.parameters")
            if isinstance(tool.get("strict"), bool):
                fn["strict"] = tool["strict"]
        elif kind == "custom":
            params = {
                "type": "object",
                "properties": {"input": {"type": "string", "description": _format_hint(tool.get("format"))}},
                "required": ["input"],
            }
        else:
            params = SHELL_PARAMETERS
            description = "Run a command on the user's machine and see its output."
        if isinstance(description, str):
            fn["description"] = description
        fn["parameters"] = params
        self.kinds[fn["name"]] = CallKind("function" if kind == "function" else kind, name, namespace)
        return {"type": "function", "function": fn}

    def upstream_name(self, name: str, namespace: str | None = None) -> str:
        return self.names.shorten(f"{namespace}{NAMESPACE_SEPARATOR}{name}" if namespace else name)

    def choice_to_chat(self, choice: Any) -> Any:
        if choice is None or choice in ("auto", "none", "required"):
            return choice
        if not isinstance(choice, dict):
            raise InvalidRequest(f"tool_choice: unknown value {choice!r}", "tool_choice")
        kind = choice.get("type")
        if kind in ("function", "custom"):
            name = choice.get("name")
            if not isinstance(name, str) or not name:
                raise InvalidRequest(f"tool_choice: name is required for type {kind!r}", "tool_choice.name")
            namespace = choice.get("namespace") if isinstance(choice.get("namespace"), str) else None
            return {"type": "function", "function": {"name": self.upstream_name(name, namespace)}}
        if kind == "local_shell":
            return {"type": "function", "function": {"name": "local_shell"}}
        if kind == "allowed_tools":
            return "required" if choice.get("mode") == "required" else "auto"
        if isinstance(kind, str) and kind in WEB_SEARCH_TOOLS and self.web:
            return {"type": "function", "function": {"name": SEARCH_FUNCTION}}
        return "auto"  # a hosted tool that was omitted (one the request needs was refused above)

    # -- calls, both ways -------------------------------------------------------------------------

    def input_call(self, item: dict[str, Any], path: str) -> tuple[str, str, str]:
        """(call id, upstream name, arguments) of an earlier call item the client sends back."""
        kind = item.get("type")
        call_id = item.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidRequest(f"{path}.call_id: field required", f"{path}.call_id")
        if kind == "local_shell_call":
            raw = item.get("action")
            action: dict[str, Any] = raw if isinstance(raw, dict) else {}
            args = {k: v for k, v in action.items() if k != "type"}
            return call_id, "local_shell", COMPACT_UTF8.encode(args)
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"{path}.name: field required", f"{path}.name")
        namespace = item.get("namespace") if isinstance(item.get("namespace"), str) else None
        if kind == "custom_tool_call":
            text = item.get("input")
            if not isinstance(text, str):
                raise InvalidRequest(f"{path}.input: must be a string", f"{path}.input")
            arguments = json.dumps({"input": text}, ensure_ascii=False)
        else:
            arguments = item.get("arguments", "")
            if isinstance(arguments, dict):
                arguments = COMPACT_UTF8.encode(arguments)
            if not isinstance(arguments, str):
                raise InvalidRequest(f"{path}.arguments: must be a string", f"{path}.arguments")
        return call_id, self.upstream_name(name, namespace), arguments

    def item_prefix(self, upstream_name: str) -> str:
        """The id prefix of a call's output item: ``fc``, ``ctc`` (custom) or ``lsc`` (local shell)."""
        return {"custom": "ctc", "local_shell": "lsc"}.get(self.kind_of(upstream_name).kind, "fc")

    def kind_of(self, upstream_name: str) -> CallKind:
        known = self.kinds.get(upstream_name)
        return known if known is not None else CallKind("function", self.names.restore(upstream_name))

    def output_item(
        self, item_id: str, call_id: str, upstream_name: str, arguments: str, status: str
    ) -> dict[str, Any]:
        """The output item for an upstream tool call, in the type the client defined."""
        kind = self.kind_of(upstream_name)
        if kind.kind == "custom":
            item: dict[str, Any] = {"type": "custom_tool_call", "id": item_id, "call_id": call_id, "name": kind.name}
            item["input"] = custom_input(arguments)
        elif kind.kind == "local_shell":
            action = _json_object(arguments)
            item = {"type": "local_shell_call", "id": item_id, "call_id": call_id, "status": status}
            item["action"] = {"type": "exec", "env": {}, **action, "command": _strings(action.get("command"))}
            return item
        else:
            item = {"type": "function_call", "id": item_id, "call_id": call_id, "name": kind.name}
            item["arguments"] = arguments
        if kind.namespace:
            item["namespace"] = kind.namespace
        item["status"] = status
        return item


def custom_input(arguments: str) -> str:
    """A custom tool's free-form input from the function arguments the model wrote (its ``input``)."""
    value = _json_object(arguments).get("input")
    return value if isinstance(value, str) else arguments


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _format_hint(fmt: Any) -> str:
    if isinstance(fmt, dict) and fmt.get("type") == "grammar":
        syntax = fmt.get("syntax", "lark")
        return f"The tool's whole input, which must match this {syntax} grammar:\n{fmt.get('definition', '')}"
    return "The tool's whole input, as free-form text."


def _search_options(tool: dict[str, Any], path: str) -> SearchOptions:
    filters = tool.get("filters")
    if filters is not None and not isinstance(filters, dict):
        raise InvalidRequest(f"{path}.filters: must be an object", f"{path}.filters")
    allowed = domain_list((filters or {}).get("allowed_domains"), f"{path}.filters.allowed_domains")
    location = tool.get("user_location")
    if location is not None and not isinstance(location, dict):
        raise InvalidRequest(f"{path}.user_location: must be an object", f"{path}.user_location")
    return SearchOptions(allowed_domains=allowed, user_location=location)
