"""The gateway's web searches in a chat completions answer (``web_search_options``): the answer's ``[n]`` markers
that cite a result as the message's ``annotations`` (OpenAI's ``url_citation`` shape), and the words the model said
in the rounds before its answer put in front of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..web_tools import Step, ToolRun, citations_in

__all__ = ["annotated_answer", "url_annotations"]


def url_annotations(text: str, runs: Sequence[ToolRun]) -> list[dict[str, Any]]:
    return [
        {
            "type": "url_citation",
            "url_citation": {"url": c.hit.url, "title": c.hit.title, "start_index": c.start, "end_index": c.end},
        }
        for c in citations_in(text, list(runs))
    ]


def annotated_answer(response: dict[str, Any], steps: Sequence[Step]) -> dict[str, Any]:
    """``response`` (the last round's completion) with the earlier rounds' words before its text and the citations
    of the whole text as ``annotations``."""
    choices = response.get("choices")
    if not steps or not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return response
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return response
    said = [s.said.get("content") for s in steps]
    texts = [t for t in [*said, message.get("content")] if isinstance(t, str) and t]
    text = "\n\n".join(texts) if texts else message.get("content")
    runs = [run for step in steps for run in step.runs]
    annotated = {**message, "content": text, "annotations": url_annotations(text or "", runs)}
    return {**response, "choices": [{**choices[0], "message": annotated}, *choices[1:]]}
