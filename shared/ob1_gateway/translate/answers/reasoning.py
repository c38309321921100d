"""Reasoning in an upstream message or delta -> a flat list of items, shared by both response paths.

OpenRouter sends reasoning twice: ``reasoning`` (plain text) and ``reasoning_details`` (typed entries,
the only place signatures and encrypted reasoning live). When ``reasoning_details`` carries any text
or summary entry it is the source of truth and ``reasoning`` is ignored, so text is never doubled.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ENCRYPTED", "SIGNATURE", "TEXT", "reasoning_items", "thinking_blocks"]

TEXT, SIGNATURE, ENCRYPTED = "text", "signature", "encrypted"


def reasoning_items(obj: dict[str, Any]) -> list[tuple[str, str]]:
    """``[(kind, value)]`` with kind TEXT / SIGNATURE / ENCRYPTED, in arrival order; empty values skipped."""
    items: list[tuple[str, str]] = []
    has_text_entries = False
    details = obj.get("reasoning_details")
    if isinstance(details, list):
        for d in details:
            if not isinstance(d, dict):
                continue
            kind = d.get("type")
            if kind == "reasoning.text" or kind == "reasoning.summary":
                has_text_entries = True
                text = d.get("text") if kind == "reasoning.text" else d.get("summary")
                if isinstance(text, str) and text:
                    items.append((TEXT, text))
                sig = d.get("signature")
                if isinstance(sig, str) and sig:
                    items.append((SIGNATURE, sig))
            elif kind == "reasoning.encrypted":
                data = d.get("data")
                if isinstance(data, str) and data:
                    items.append((ENCRYPTED, data))
    if not has_text_entries:
        text = obj.get("reasoning")
        if not isinstance(text, str):
            text = obj.get("reasoning_content")
        if isinstance(text, str) and text:
            items.insert(0, (TEXT, text))
    return items


def thinking_blocks(items: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Fold items into Anthropic blocks: consecutive text forms one thinking block, a signature closes
    it, encrypted data is a redacted_thinking block. An unsigned block gets ``signature: ""``: the
    field is required by Anthropic's shape, but a signature is never invented."""
    blocks: list[dict[str, Any]] = []
    open_block: dict[str, Any] | None = None
    for kind, value in items:
        if kind == TEXT:
            if open_block is None:
                open_block = {"type": "thinking", "thinking": "", "signature": ""}
                blocks.append(open_block)
            open_block["thinking"] += value
        elif kind == SIGNATURE:
            if open_block is None:
                open_block = {"type": "thinking", "thinking": "", "signature": ""}
                blocks.append(open_block)
            open_block["signature"] = value
            open_block = None
        else:
            open_block = None
            blocks.append({"type": "redacted_thinking", "data": value})
    return blocks
