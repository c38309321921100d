"""Reversible tool-name shortening: OpenAI-style upstreams reject function names over 64 characters,
while Anthropic clients (MCP tools in particular, ``mcp__server__long_tool_name``) send longer ones."""

from __future__ import annotations

import hashlib

__all__ = ["MAX_TOOL_NAME", "ToolNameMap"]

MAX_TOOL_NAME = 64
_HASH_LEN = 10


class ToolNameMap:
    """Per-request map. ``shorten`` is deterministic (same name -> same short name in any instance):
    the first 53 characters, ``_`` and 10 hex digits of the name's SHA-256."""

    __slots__ = ("_back",)

    def __init__(self) -> None:
        self._back: dict[str, str] = {}

    def shorten(self, name: str) -> str:
        if len(name) <= MAX_TOOL_NAME:
            return name
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_HASH_LEN]
        short = f"{name[: MAX_TOOL_NAME - _HASH_LEN - 1]}_{digest}"
        self._back[short] = name
        return short

    def restore(self, short: str) -> str:
        """The original name of a shortened one; any other name comes back unchanged."""
        return self._back.get(short, short)

    def __len__(self) -> int:
        return len(self._back)
