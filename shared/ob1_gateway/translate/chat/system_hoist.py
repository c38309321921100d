"""Merge system messages into one leading system message, for upstreams that refuse them later on.

OpenAI's chat format allows a system message anywhere, and Claude Code puts one after the first user
turn; some providers' chat templates refuse any system message that is not first. The gateway sends
them in place and, only when the upstream refuses (400), once more hoisted by this function.
"""

from __future__ import annotations

from typing import Any

__all__ = ["hoist_system_messages"]


def hoist_system_messages(body: dict[str, Any]) -> dict[str, Any] | None:
    """``body`` with every system message merged into one leading system message, for upstreams that
    refuse system messages after the first turn; ``None`` when there is nothing to move."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    lead = 0
    while lead < len(messages) and isinstance(messages[lead], dict) and messages[lead].get("role") == "system":
        lead += 1
    if not any(isinstance(m, dict) and m.get("role") == "system" for m in messages[lead:]):
        return None
    systems = [m for m in messages if isinstance(m, dict) and m.get("role") == "system"]
    rest = [m for m in messages if not (isinstance(m, dict) and m.get("role") == "system")]
    contents: list[Any] = [m.get("content") for m in systems]
    if not all(isinstance(c, str | list) for c in contents):
        return None  # not a body this could merge; the upstream's refusal stands
    if all(isinstance(c, str) for c in contents):
        merged: Any = "\n\n".join(c for c in contents if c)
    else:
        merged = [p for c in contents for p in ([{"type": "text", "text": c}] if isinstance(c, str) else c)]
    return {**body, "messages": [{"role": "system", "content": merged}, *rest]}
