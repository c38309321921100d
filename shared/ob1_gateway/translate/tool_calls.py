"""Streamed tool calls: which call a ``tool_calls[]`` fragment continues, and when its arguments are done.

Shared by both stream translators (Anthropic blocks, Responses items). OpenAI-compatible upstreams key a
call's fragments by ``tool_calls[].index``; some omit the index (then the call's id, else the call
before it continues), some send garbage there, and some reuse an index for a new call (a different id).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["ToolCalls", "arguments_complete"]


def arguments_complete(text: str) -> bool:
    """Whether streamed arguments already form one JSON object (the call's block or item may close)."""
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


class ToolCalls:
    """The translator's record of every tool call in a stream, keyed by upstream identity."""

    def __init__(self) -> None:
        self._records: dict[Any, dict[str, Any]] = {}
        self._last_key: Any = None
        self.count = 0

    def track(
        self, call: dict[str, Any], new_record: Callable[[str | None, str | None], dict[str, Any]]
    ) -> tuple[dict[str, Any], bool, str | None]:
        """``(record, created, arguments fragment)`` for one ``tool_calls[]`` entry. A call not seen before
        gets ``new_record(upstream id, name)`` (which must hold ``upstream_id`` and ``name``); a known
        call whose name arrives late gets it filled in."""
        call_id = call.get("id") if isinstance(call.get("id"), str) and call.get("id") else None
        key = call.get("index")
        if isinstance(key, bool) or not isinstance(key, int | str):  # missing or garbage
            key = call_id if call_id else self._last_key
        fn = call.get("function") if isinstance(call.get("function"), dict) else {}
        name = fn.get("name") if isinstance(fn.get("name"), str) and fn.get("name") else None
        args = fn.get("arguments") if isinstance(fn.get("arguments"), str) else None
        rec = self._records.get(key)
        if rec is not None and call_id and rec["upstream_id"] and call_id != rec["upstream_id"]:
            rec = None  # the same index reused for a new call
        created = rec is None
        if rec is None:
            rec = new_record(call_id, name)
            self._records[key] = rec
            self.count += 1
        elif name and not rec["name"]:
            rec["name"] = name
        self._last_key = key
        return rec, created, args
