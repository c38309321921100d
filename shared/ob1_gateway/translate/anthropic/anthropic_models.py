"""The upstream model list in the Anthropic Models API's shape (``ModelInfo``, paged as the SDK's pager reads it).

Decisions:
- Every upstream model the gateway lists is ``lifecycle: "active"``: the upstream lists what it serves and
  says nothing of deprecation, so ``deprecated_at``/``retires_at`` are null. A ``lifecycle`` filter is
  honoured on that basis (asking only for ``deprecated`` or ``retired`` models lists none).
- ``created_at`` is the upstream's ``created`` (the epoch when it has none, as the API documents for an
  unknown release date); ``display_name`` its ``name``; ``max_input_tokens``/``max_tokens`` its limits.
- An Anthropic model is listed by its Anthropic-style id (``anthropic/claude-opus-4.6`` as ``claude-opus-4-6``):
  Claude Code's model-family logic keys on that shape, and every such id resolves back to the model
  (``upstream/catalog.py claude_candidates``). The upstream's id stays in ``upstream_id``. Other models keep
  their upstream id.
- Newest first, as the API lists them. ``after_id``/``before_id`` are the ids of the previous page's
  ``last_id``/``first_id``; a cursor that names no listed model is a 400 naming the parameter (there is no
  position to page from). ``before_id`` pages backwards: the ``limit`` models just before it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ..invalid import InvalidRequest

__all__ = ["LIFECYCLES", "anthropic_model", "anthropic_model_page", "anthropic_style_id"]

LIFECYCLES = ("active", "deprecated", "retired")
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")


def anthropic_style_id(upstream_id: str) -> str:
    """``anthropic/claude-opus-4.6`` → ``claude-opus-4-6``; any other id as it is."""
    if not upstream_id.startswith("anthropic/"):
        return upstream_id
    return _VERSION_DOT.sub("-", upstream_id.removeprefix("anthropic/"))


def anthropic_model(entry: dict[str, Any]) -> dict[str, Any]:
    """One upstream catalog entry as a ``ModelInfo``."""
    model: dict[str, Any] = {
        "type": "model",
        "id": anthropic_style_id(entry["id"]),
        "upstream_id": entry["id"],
        "display_name": entry.get("name") if isinstance(entry.get("name"), str) else entry["id"],
        "created_at": _iso(entry.get("created")),
        "lifecycle": "active",
        "deprecated_at": None,
        "retires_at": None,
    }
    context = entry.get("context_length")
    if isinstance(context, int) and not isinstance(context, bool):
        model["max_input_tokens"] = context
    provider = entry.get("top_provider")
    output = provider.get("max_completion_tokens") if isinstance(provider, dict) else None
    if isinstance(output, int) and not isinstance(output, bool):
        model["max_tokens"] = output
    return model


def anthropic_model_page(
    entries: list[dict[str, Any]],
    *,
    limit: str | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
    lifecycle: list[str] | None = None,
) -> dict[str, Any]:
    """A page of the list: ``data``, ``first_id``, ``last_id``, ``has_more`` (more in the paging direction)."""
    size = _limit(limit)
    for stage in lifecycle or ():
        if stage not in LIFECYCLES:
            raise InvalidRequest(f"lifecycle: must be one of {', '.join(LIFECYCLES)}, not {stage!r}", "lifecycle")
    wanted = set(lifecycle) if lifecycle else {"active", "deprecated"}
    listed = {m["id"]: m for m in map(anthropic_model, entries)}  # one entry per id, however the upstream spells it
    models = sorted(listed.values(), key=lambda m: (m["created_at"], m["id"]), reverse=True)
    models = [m for m in models if m["lifecycle"] in wanted]
    ids = [m["id"] for m in models]
    start, end = 0, len(models)
    if after_id is not None:
        start = _position(ids, after_id, "after_id") + 1
    if before_id is not None:
        end = _position(ids, before_id, "before_id")
    window = models[start:end] if start < end else []
    if before_id is not None and after_id is None:
        page, has_more = window[-size:], len(window) > size
    else:
        page, has_more = window[:size], len(window) > size
    return {
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": has_more,
    }


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not (value.isascii() and value.isdigit() and len(value) <= 6) or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidRequest(f"limit: must be an integer from 1 to {MAX_LIMIT}", "limit")
    return int(value)


def _position(ids: list[str], cursor: str, param: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise InvalidRequest(f"{param}: no listed model has the id {cursor[:200]!r}", param) from None


def _iso(created: Any) -> str:
    seconds = created if isinstance(created, int | float) and not isinstance(created, bool) else 0
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
