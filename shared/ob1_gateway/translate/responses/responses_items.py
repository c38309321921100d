"""Responses API items as the gateway stores and references them (pure: no I/O).

Every item id the gateway makes names its response: ``<kind>_<the response's 32 hex digits><4 hex
digits>``. An ``item_reference`` (or an input item given only by such an id) therefore leads to its
stored response with one read and no index; an id of any other shape was not made here and cannot be
found. A response that is not kept (``store: false``) gets an id that says so, for its key only: its last 16
hex digits are a digest of the key id and the first 16 (``new_response_id``), so a later turn that sends one of
its items back by id can be told from an id never issued, or issued to another key (``unkept_by``).

Input items are stored in the shape ``input_items`` lists them: with ids, content as parts, and only the
fields the gateway uses (``_KEPT_FIELDS``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from typing import Any

__all__ = [
    "ItemIds",
    "find_item",
    "is_response_id",
    "new_response_id",
    "reference_of",
    "response_of",
    "stored_input_items",
    "unkept_by",
]

_RESPONSE_ID = re.compile(r"resp_([0-9a-f]{32})")
_ITEM_ID = re.compile(r"[a-z]+_([0-9a-f]{32})[0-9a-f]{4}")
# What makes an item whole; one without it, given by our id, stands for the stored item.
_CONTENT = {
    "message": ("content",),
    "reasoning": ("encrypted_content",),
    "function_call": ("name",),
    "function_call_output": ("output",),
    "custom_tool_call": ("name",),
    "custom_tool_call_output": ("output",),
    "local_shell_call": ("action",),
    "local_shell_call_output": ("output",),
}


# What is kept of an input item, by type: the fields the translator reads and ``input_items`` shows. A
# client's other fields are never sent upstream, so keeping them would only grow every later turn.
_COMMON = ("type", "id", "status")
_KEPT_FIELDS = {
    "message": (*_COMMON, "role", "content"),
    "function_call": (*_COMMON, "call_id", "name", "arguments", "namespace"),
    "function_call_output": (*_COMMON, "call_id", "output"),
    "custom_tool_call": (*_COMMON, "call_id", "name", "input", "namespace"),
    "custom_tool_call_output": (*_COMMON, "call_id", "output"),
    "local_shell_call": (*_COMMON, "call_id", "action"),
    "local_shell_call_output": (*_COMMON, "call_id", "output"),
    "reasoning": (*_COMMON, "summary", "encrypted_content", "content"),
    "item_reference": ("type", "id"),
}
_KEPT_PART_FIELDS = frozenset(
    {"type", "text", "image_url", "detail", "file_id", "file_data", "file_url", "filename", "refusal", "annotations"}
)


def _kept(item: dict[str, Any]) -> dict[str, Any]:
    fields = _KEPT_FIELDS.get(item.get("type") or "message", _COMMON)
    kept = {name: item[name] for name in fields if name in item}
    for name in ("content", "output"):
        parts = kept.get(name)
        if isinstance(parts, list):
            kept[name] = [
                {k: v for k, v in part.items() if k in _KEPT_PART_FIELDS} if isinstance(part, dict) else part
                for part in parts
            ]
    return kept


def new_response_id(key_id: str | None = None, *, kept: bool = True) -> str:
    """A fresh response id; for a response that is not ``kept``, one ``unkept_by(…, key_id)`` recognises."""
    if kept or key_id is None:
        return f"resp_{uuid.uuid4().hex}"
    nonce = uuid.uuid4().hex[:16]
    return f"resp_{nonce}{_unkept_digest(key_id, nonce)}"


def unkept_by(item_id: object, key_id: str) -> bool:
    """Whether an item id was issued to ``key_id`` for a response that was not kept."""
    match = _ITEM_ID.fullmatch(item_id) if isinstance(item_id, str) else None
    if match is None:
        return False
    digits = match.group(1)
    return hmac.compare_digest(digits[16:], _unkept_digest(key_id, digits[:16]))


def _unkept_digest(key_id: str, nonce: str) -> str:
    return hashlib.sha256(f"unkept:{key_id}:{nonce}".encode()).hexdigest()[:16]


def is_response_id(value: object) -> bool:
    """A response id this gateway could have made (anything else is unknown without a lookup)."""
    return isinstance(value, str) and _RESPONSE_ID.fullmatch(value) is not None


def response_of(item_id: object) -> str | None:
    """The response an item id made here belongs to; None for any other id."""
    match = _ITEM_ID.fullmatch(item_id) if isinstance(item_id, str) else None
    return f"resp_{match.group(1)}" if match else None


class ItemIds:
    """The ids of one response's items, in order (see the module docstring)."""

    def __init__(self, response_id: str) -> None:
        match = _RESPONSE_ID.fullmatch(response_id)
        self._hex = match.group(1) if match else uuid.uuid4().hex
        self._count = 0

    def __call__(self, kind: str) -> str:
        self._count += 1
        return f"{kind}_{self._hex}{self._count & 0xFFFF:04x}"


def reference_of(item: object) -> str | None:
    """The id an input item refers to: an ``item_reference``, or an item given by one of our ids without
    the content that makes it whole (e.g. a reasoning item without ``encrypted_content``)."""
    if not isinstance(item, dict):
        return None
    item_id = item.get("id")
    if item.get("type") == "item_reference":
        return item_id if isinstance(item_id, str) else ""
    kind = item.get("type") or ("message" if "role" in item else None)
    if response_of(item_id) is None or not isinstance(kind, str):
        return None
    needed = _CONTENT.get(kind, ())
    return item_id if needed and not any(item.get(name) for name in needed) else None


def find_item(items: list[dict[str, Any]], item_id: str) -> dict[str, Any] | None:
    return next((item for item in items if item.get("id") == item_id), None)


def stored_input_items(items: list[Any] | str, ids: ItemIds) -> list[dict[str, Any]]:
    """The request's input as ``input_items`` lists it: each item with an id, message content as parts."""
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    out: list[dict[str, Any]] = []
    for raw in items:
        if not isinstance(raw, dict):
            continue
        item = _kept(raw)
        kind = item.setdefault("type", "message")
        if kind == "message":
            item["content"] = _parts(item.get("content"), item.get("role"))
            item.setdefault("status", "completed")
            item.setdefault("id", ids("msg"))
        elif kind in ("function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output"):
            item.setdefault("status", "completed")
            item.setdefault("id", ids({"function_call": "fc", "custom_tool_call": "ctc"}.get(kind, "fco")))
        elif kind == "reasoning":
            item.setdefault("summary", [])
            item.setdefault("id", ids("rs"))
        else:
            item.setdefault("id", ids("item"))
        out.append(item)
    return out


def _parts(content: Any, role: Any) -> list[Any]:
    if not isinstance(content, str):
        return content if isinstance(content, list) else []
    if role == "assistant":
        return [{"type": "output_text", "text": content, "annotations": []}]
    return [{"type": "input_text", "text": content}]
