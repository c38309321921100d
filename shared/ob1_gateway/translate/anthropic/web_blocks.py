"""The gateway's web tool runs as Anthropic content blocks, both ways: a ``ToolRun`` as the ``server_tool_use`` and
``web_search_tool_result`` / ``web_fetch_tool_result`` pair Anthropic answers with (and ``web_search_result_location``
citations on the text); and such blocks sent back in a later turn as the text the model read."""

from __future__ import annotations

import json
from typing import Any

from ..web_tools import (
    FETCH_FUNCTION,
    SEARCH_FUNCTION,
    SealBudget,
    ToolRun,
    WebHit,
    annotation_citations,
    citations_in,
    seal,
    unseal,
)

__all__ = ["run_blocks", "server_tool_usage", "text_citations", "web_call_text", "web_result_text"]

_CITED_CHARS = 150  # how much of a result a citation quotes


def run_blocks(run: ToolRun) -> list[dict[str, Any]]:
    """The ``server_tool_use`` block and its result block."""
    use = {"type": "server_tool_use", "id": run.id, "name": run.name, "input": run.input}
    return [use, _result_block(run)]


def _result_block(run: ToolRun) -> dict[str, Any]:
    if run.name == SEARCH_FUNCTION:
        content: Any
        if run.error is not None:
            content = {"type": "web_search_tool_result_error", "error_code": run.error}
        else:
            content = [
                {
                    "type": "web_search_result",
                    "url": hit.url,
                    "title": hit.title,
                    "encrypted_content": seal(hit),
                    "page_age": hit.page_age,
                }
                for hit in run.hits
            ]
        return {"type": "web_search_tool_result", "tool_use_id": run.id, "content": content}
    if run.error is not None or not run.hits:
        content = {"type": "web_fetch_tool_result_error", "error_code": run.error or "url_not_accessible"}
    else:
        hit = run.hits[0]
        document = {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": hit.text},
            "title": hit.title,
        }
        content = {"type": "web_fetch_result", "url": hit.url, "retrieved_at": run.retrieved_at, "content": document}
    return {"type": "web_fetch_tool_result", "tool_use_id": run.id, "content": content}


def text_citations(text: str, runs: list[ToolRun], annotations: Any = None) -> list[dict[str, Any]]:
    """The ``web_search_result_location`` citations of a text that cites results by number, and of the upstream's own
    ``url_citation`` annotations (each result once)."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for citation in [*citations_in(text, runs), *annotation_citations(annotations)]:
        hit = citation.hit
        if hit.url in seen:
            continue
        seen.add(hit.url)
        out.append(
            {
                "type": "web_search_result_location",
                "url": hit.url,
                "title": hit.title,
                "cited_text": (hit.text or text[citation.start : citation.end])[:_CITED_CHARS],
                "encrypted_index": seal(WebHit(hit.url, hit.title, "")),
            }
        )
    return out


def server_tool_usage(runs: list[ToolRun]) -> dict[str, int]:
    """``usage.server_tool_use``: the searches and fetches made (a refused or failed one is not: it costs nothing)."""
    made = [run for run in runs if run.error is None]
    return {
        "web_search_requests": sum(1 for run in made if run.name == SEARCH_FUNCTION),
        "web_fetch_requests": sum(1 for run in made if run.name == FETCH_FUNCTION),
    }


def web_call_text(block: dict[str, Any]) -> str:
    """A ``server_tool_use`` sent back where its tool is not offered: what the model did, as text."""
    tool_input = block.get("input") if isinstance(block.get("input"), dict) else {}
    return f"[{block.get('name')}: {json.dumps(tool_input, ensure_ascii=False)[:2000]}]"


def web_result_text(block: dict[str, Any], budget: SealBudget | None = None) -> str:
    """A web tool result block sent back: the text the model read (``ToolRun.for_model``'s shape); ``budget`` bounds
    what the request's sealed results may inflate to."""
    content = block.get("content")
    if block.get("type") == "web_search_tool_result":
        if isinstance(content, dict):
            return f"Error: {content.get('error_code')}"
        hits = [
            unseal(item.get("encrypted_content"), str(item.get("url") or ""), str(item.get("title") or ""), budget)
            for item in (content if isinstance(content, list) else [])
            if isinstance(item, dict)
        ]
        return ToolRun(id="", name=SEARCH_FUNCTION, input={}, hits=hits).for_model()
    if not isinstance(content, dict) or content.get("type") != "web_fetch_result":
        return f"Error: {content.get('error_code') if isinstance(content, dict) else 'unavailable'}"
    document = _object(content.get("content"))
    source = _object(document.get("source"))
    data = source["data"] if isinstance(source.get("data"), str) and source.get("type") == "text" else ""
    hit = WebHit(str(content.get("url") or ""), str(document.get("title") or ""), data)
    return ToolRun(id="", name=FETCH_FUNCTION, input={}, hits=[hit]).for_model()


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
