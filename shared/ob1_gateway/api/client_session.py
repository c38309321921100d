"""The client's session id, from the header its tool sends, so an admin or member can ask what a session cost
(``ob1gw usage --by session``, ``GET /v1/usage?by=session``, the dashboard's most expensive sessions).

Read, in this order: Claude Code's ``X-Claude-Code-Session-Id`` (its docs: for proxies to add up a session's cost),
any other ``x-<vendor>-session-id``, opencode's ``x-session-id``, Codex's ``session-id`` / ``thread-id`` (older
builds: ``session_id`` / ``conversation_id``), and a W3C ``baggage`` entry ``session.id``. The value is hostile
like any other: kept only when it is 1-128 characters of letters, digits and ``-_.:``; anything else is no
session (the request is not refused over a label). Nothing else about the session is stored."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["client_session"]

_PREFERRED = ("x-claude-code-session-id",)
_VENDOR = re.compile(r"x-[a-z0-9-]+-session-id")
_PLAIN = ("x-session-id", "session-id", "thread-id", "session_id", "conversation_id")
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_BAGGAGE_ENTRY = re.compile(r"(?:^|,)\s*session\.id\s*=\s*([^,;]*)")


def client_session(headers: Mapping[str, str]) -> str:
    """The session id the request names, or "" when it names none (or none that is valid)."""
    names = [*_PREFERRED, *sorted(n for n in headers if _VENDOR.fullmatch(n) and n not in _PREFERRED), *_PLAIN]
    for name in names:
        value = headers.get(name)
        if value is not None:
            return _valid(value)
    baggage = headers.get("baggage")
    entry = _BAGGAGE_ENTRY.search(baggage) if baggage else None
    return _valid(entry.group(1)) if entry else ""


def _valid(value: str) -> str:
    value = value.strip()
    return value if _VALID.fullmatch(value) else ""
