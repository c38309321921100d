"""Anthropic ``context_management.edits`` done by the gateway, as a rewrite of the request.

The upstream knows nothing of context editing, so the edits Anthropic would apply server-side are
applied here before translation:
- ``clear_tool_uses_*``: once the trigger is reached (``input_tokens``, by the same estimate as
  ``count_tokens``, default 100,000; or ``tool_uses``), the results of all but the last ``keep`` tool
  uses (default 3) are replaced by a short placeholder, except tools in ``exclude_tools``; with
  ``clear_tool_inputs`` the cleared calls' inputs are emptied too. ``clear_at_least`` is honoured by
  clearing nothing when the clearable results hold fewer tokens than it asks for.
- ``clear_thinking_*``: earlier turns' thinking is already not sent upstream unless signed (and then
  only replayed), so it is accepted as is.
Any other edit type is refused, never silently ignored.
"""

from __future__ import annotations

import copy
from typing import Any

from ..invalid import InvalidRequest
from ..token_count import estimate_input_tokens

__all__ = ["CLEARED_TOOL_RESULT", "apply_context_edits"]

CLEARED_TOOL_RESULT = "[tool result cleared by context management]"
_DEFAULT_TRIGGER = {"type": "input_tokens", "value": 100_000}
_DEFAULT_KEEP = 3


def apply_context_edits(req: dict[str, Any]) -> dict[str, Any]:
    """``req`` with its context edits applied (a copy when anything changes; ``req`` is never mutated)."""
    management = req.get("context_management")
    if management is None:
        return req
    edits = management.get("edits", []) if isinstance(management, dict) else None
    if not isinstance(edits, list):
        raise InvalidRequest("context_management.edits: must be a list", "context_management.edits")
    for i, edit in enumerate(edits):
        kind = edit.get("type") if isinstance(edit, dict) else None
        path = f"context_management.edits.{i}"
        if isinstance(kind, str) and kind.startswith("clear_thinking_"):
            continue
        if isinstance(kind, str) and kind.startswith("clear_tool_uses_"):
            req = _clear_tool_uses(req, edit, path)
            continue
        raise InvalidRequest(f"{path}.type: unsupported context edit {kind!r}", f"{path}.type")
    return req


def _count(setting: Any, kinds: tuple[str, ...], default: dict[str, Any], path: str) -> tuple[str, int]:
    setting = default if setting is None else setting
    kind = setting.get("type") if isinstance(setting, dict) else None
    value = setting.get("value") if isinstance(setting, dict) else None
    if kind not in kinds or isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest(f"{path}: must be {{'type': one of {list(kinds)}, 'value': a whole number}}", path)
    return kind, value


def _tool_uses(messages: list[Any]) -> list[tuple[str, str]]:
    """(id, name) of every tool_use in the conversation, oldest first."""
    uses = []
    for msg in messages:
        content = msg.get("content") if isinstance(msg, dict) and msg.get("role") == "assistant" else None
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                uses.append((block["id"], str(block.get("name"))))
    return uses


def _clear_tool_uses(req: dict[str, Any], edit: dict[str, Any], path: str) -> dict[str, Any]:
    trigger_kind, trigger = _count(
        edit.get("trigger"), ("input_tokens", "tool_uses"), _DEFAULT_TRIGGER, path + ".trigger"
    )
    _, keep = _count(edit.get("keep"), ("tool_uses",), {"type": "tool_uses", "value": _DEFAULT_KEEP}, path + ".keep")
    at_least = 0
    if edit.get("clear_at_least") is not None:
        _, at_least = _count(edit["clear_at_least"], ("input_tokens",), {}, path + ".clear_at_least")
    exclude = edit.get("exclude_tools") or []
    if not isinstance(exclude, list) or not all(isinstance(n, str) for n in exclude):
        raise InvalidRequest(f"{path}.exclude_tools: must be a list of tool names", f"{path}.exclude_tools")
    messages = req.get("messages")
    if not isinstance(messages, list):
        return req  # the translator reports the malformed field
    uses = _tool_uses(messages)
    reached = len(uses) > trigger if trigger_kind == "tool_uses" else estimate_input_tokens(req) >= trigger
    clearable = uses[: max(len(uses) - keep, 0)]
    ids = {use_id for use_id, name in clearable if name not in exclude}
    if not reached or not ids:
        return req
    edited = copy.deepcopy(req)
    freed = _replace_results(edited["messages"], ids, clear_inputs=edit.get("clear_tool_inputs") is True)
    return edited if freed >= at_least else req


def _replace_results(messages: list[Any], ids: set[str], *, clear_inputs: bool) -> int:
    """Clear the results (and optionally inputs) of ``ids`` in place; returns the tokens freed (estimate)."""
    before = estimate_input_tokens({"messages": messages})
    for msg in messages:
        content = msg.get("content") if isinstance(msg, dict) else None
        for block in content if isinstance(content, list) else ():
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result" and block.get("tool_use_id") in ids:
                block["content"] = CLEARED_TOOL_RESULT
            elif clear_inputs and block.get("type") == "tool_use" and block.get("id") in ids:
                block["input"] = {}
    return before - estimate_input_tokens({"messages": messages})
