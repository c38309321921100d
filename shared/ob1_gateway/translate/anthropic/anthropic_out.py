"""chat.completion (non-stream) -> Anthropic message.

Decision: tool-call ``arguments`` that are not a JSON object (truncated, invalid, or a non-object
value) become ``{"_raw": "<arguments>"}`` so nothing is lost and the client's tool validation reports
it to the model; empty arguments become ``{}``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from ..answers.finish import stop_reason_for
from ..answers.reasoning import reasoning_items, thinking_blocks
from ..token_usage import Usage, usage_from_openai
from ..web_tools import Step, ToolRun
from .anthropic_in import ChatPlan
from .web_blocks import run_blocks, server_tool_usage, text_citations

__all__ = ["chat_to_anthropic", "new_message_id", "parse_arguments"]


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex[:24]


def parse_arguments(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        return {"_raw": arguments}
    return value if isinstance(value, dict) else {"_raw": arguments}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some providers answer with a list of parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _said(message: dict[str, Any], runs: list[ToolRun]) -> list[dict[str, Any]]:
    """A message's thinking and text blocks (the text with the citations of the web results it cites)."""
    content: list[dict[str, Any]] = thinking_blocks(reasoning_items(message))
    text = _text_of(message.get("content")) or (message.get("refusal") or "")
    if isinstance(text, str) and text:
        block: dict[str, Any] = {"type": "text", "text": text}
        cited = text_citations(text, runs, message.get("annotations"))
        if cited:
            block["citations"] = cited
        content.append(block)
    return content


def chat_to_anthropic(
    resp: dict[str, Any], plan: ChatPlan, *, message_id: str | None = None, steps: Sequence[Step] = ()
) -> tuple[dict[str, Any], Usage]:
    """``steps``: the gateway's web tool rounds before ``resp`` (their text and runs come first)."""
    choices = resp.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message")
    if not isinstance(message, dict):
        message = {}

    runs = [run for step in steps for run in step.runs]
    content: list[dict[str, Any]] = []
    for step in steps:
        content += _said(step.said, runs)
        for run in step.runs:
            content += run_blocks(run)
    content += _said(message, runs)
    tool_calls = message.get("tool_calls")
    had_tools = False
    if isinstance(tool_calls, list):
        for n, call in enumerate(tool_calls):
            if not isinstance(call, dict):
                continue
            fn = raw_fn if isinstance(raw_fn := call.get("function"), dict) else {}
            had_tools = True
            content.append(
                {
                    "type": "tool_use",
                    "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:20]}{n}",
                    "name": plan.tool_names.restore(fn.get("name") or ""),
                    "input": parse_arguments(fn.get("arguments")),
                }
            )

    stop_reason, stop_sequence = stop_reason_for(
        choice.get("finish_reason"),
        native=choice.get("native_finish_reason"),
        matched=choice.get("stop_reason"),
        stop_sequences=plan.stop_sequences,
        had_tool_calls=had_tools,
    )
    usage = usage_from_openai(resp.get("usage"))
    if message_id is None:
        rid = resp.get("id")
        message_id = rid if isinstance(rid, str) and rid.startswith("msg_") else new_message_id()
    usage_body: dict[str, Any] = usage.anthropic()
    if runs:
        usage_body["server_tool_use"] = server_tool_usage(runs)
    body = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage_body,
    }
    return body, usage
