"""chat.completion (non-stream) -> OpenAI Responses ``Response`` object, plus the envelope, item and
usage builders the stream translator shares.

Decisions:
- ``usage.input_tokens`` is the upstream ``prompt_tokens`` (in the Responses API it *includes* cached
  tokens, unlike Anthropic's), with ``input_tokens_details.cached_tokens`` the cache reads and
  ``cache_write_tokens`` the cache writes (0 when unknown; current SDKs require the field).
- finish_reason ``length`` -> status ``incomplete`` with reason ``max_output_tokens``; ``content_filter``
  -> ``incomplete`` with reason ``content_filter``; anything else -> ``completed``.
- Reasoning text becomes one reasoning item with one ``summary_text`` part; signed or encrypted
  upstream reasoning travels in ``encrypted_content`` only when the request asked for
  ``include: ["reasoning.encrypted_content"]`` (as OpenAI does), for replay in the next request. A
  response that is stored keeps it in the stored copy (``public_view`` strips it from the answer), so a
  later ``previous_response_id`` or ``item_reference`` replays it.
- Item ids name their response (``responses_items.ItemIds``).
- Output order: reasoning, message, function calls. Tool names shortened on the way in are restored.
- The gateway's web searches (``steps``) come first, each round's words then its ``web_search_call`` items (the
  sources listed only when ``include`` asks for ``web_search_call.action.sources``, as OpenAI does); the answer's
  ``[n]`` markers that cite a result are ``url_citation`` annotations.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from ..answers.reasoning import ENCRYPTED, SIGNATURE, TEXT, reasoning_items
from ..token_usage import Usage, usage_from_openai
from ..web_tools import SEARCH_FUNCTION, Step, ToolRun, annotation_citations, citations_in
from .responses_in import ResponsesPlan, encode_reasoning

__all__ = [
    "chat_to_response",
    "details_from_items",
    "incomplete_reason",
    "new_id",
    "public_view",
    "reasoning_details",
    "response_envelope",
    "responses_usage",
    "token_logprobs",
    "url_citations",
    "web_search_item",
]

DEFAULT_DETAILS_FORMAT = "anthropic-claude-v1"


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def incomplete_reason(finish_reason: Any) -> str | None:
    if finish_reason == "length":
        return "max_output_tokens"
    if finish_reason == "content_filter":
        return "content_filter"
    return None


def responses_usage(raw: Any) -> dict[str, Any]:
    """The Responses usage object from an upstream usage dict (zeros when missing)."""
    usage = usage_from_openai(raw if isinstance(raw, dict) else None)
    details = raw.get("completion_tokens_details") if isinstance(raw, dict) else None
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    if isinstance(reasoning, bool) or not isinstance(reasoning, int) or reasoning < 0:
        reasoning = 0
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    }


def response_envelope(
    plan: ResponsesPlan,
    *,
    response_id: str,
    created_at: int,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None = None,
    incomplete: str | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "completed_at": int(time.time()) if status in ("completed", "incomplete") else None,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        **plan.echo,
        "model": plan.model,
        "output": output,
        "usage": usage,
    }


def reasoning_details(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Replayable ``reasoning_details`` from an upstream message (see ``details_from_items``)."""
    return details_from_items(reasoning_items(obj), _format_of(obj))


def details_from_items(items: list[tuple[str, str]], fmt: str | None) -> list[dict[str, Any]]:
    """Signed text and encrypted data as ``reasoning_details`` entries; unsigned text is not
    replayable upstream and yields nothing."""
    fmt = fmt or DEFAULT_DETAILS_FORMAT
    out: list[dict[str, Any]] = []
    text = ""
    for kind, value in items:
        if kind == TEXT:
            text += value
        elif kind == SIGNATURE:
            out.append({"type": "reasoning.text", "text": text, "signature": value, "format": fmt, "index": len(out)})
            text = ""
        elif kind == ENCRYPTED:
            out.append({"type": "reasoning.encrypted", "data": value, "format": fmt, "index": len(out)})
    return out


def _format_of(obj: dict[str, Any]) -> str | None:
    details = obj.get("reasoning_details")
    if isinstance(details, list):
        for d in details:
            if isinstance(d, dict) and isinstance(fmt := d.get("format"), str) and fmt:
                return fmt
    return None


def reasoning_item(item_id: str, text: str, details: list[dict[str, Any]], plan: ResponsesPlan) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "reasoning",
        "id": item_id,
        "summary": [{"type": "summary_text", "text": text}] if text else [],
    }
    if (plan.include_encrypted or plan.keep_reasoning) and details:
        item["encrypted_content"] = encode_reasoning(details)
    return item


def public_view(response: dict[str, Any], *, include_encrypted: bool) -> dict[str, Any]:
    """``response`` as the caller sees it: ``encrypted_content`` only when it asked for it."""
    if include_encrypted or not any("encrypted_content" in item for item in response.get("output") or ()):
        return response
    output = [{k: v for k, v in item.items() if k != "encrypted_content"} for item in response["output"]]
    return {**response, "output": output}


def message_item(
    item_id: str, text: str, status: str, *, refusal: bool = False, logprobs: list[Any] | None = None
) -> dict[str, Any]:
    part = (
        {"type": "refusal", "refusal": text}
        if refusal
        else {"type": "output_text", "text": text, "annotations": [], "logprobs": logprobs or []}
    )
    return {"type": "message", "id": item_id, "role": "assistant", "status": status, "content": [part]}


def web_search_item(item_id: str, run: ToolRun, *, sources: bool) -> dict[str, Any]:
    """A search run as a ``web_search_call`` item."""
    action: dict[str, Any] = {"type": "search", "query": run.query}
    if sources:
        action["sources"] = [{"type": "url", "url": hit.url} for hit in run.hits]
    status = "failed" if run.error is not None else "completed"
    return {"type": "web_search_call", "id": item_id, "status": status, "action": action}


def url_citations(text: str, runs: Sequence[ToolRun], annotations: Any = None) -> list[dict[str, Any]]:
    """The ``url_citation`` annotations of a text that cites the runs' results by number, and the upstream's own."""
    return [
        {"type": "url_citation", "start_index": c.start, "end_index": c.end, "url": c.hit.url, "title": c.hit.title}
        for c in [*citations_in(text, list(runs)), *annotation_citations(annotations)]
    ]


def token_logprobs(choice: dict[str, Any]) -> list[Any]:
    """Chat's ``logprobs.content`` (token, logprob, bytes, top_logprobs): the Responses shape already."""
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    return [t for t in content if isinstance(t, dict)] if isinstance(content, list) else []


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _said(
    message: dict[str, Any], plan: ResponsesPlan, status: str, runs: Sequence[ToolRun], choice: dict[str, Any]
) -> list[dict[str, Any]]:
    """A message's reasoning item and message item (its text annotated with the web results it cites)."""
    output: list[dict[str, Any]] = []
    thought = "".join(v for k, v in reasoning_items(message) if k == TEXT)
    details = reasoning_details(message)
    if thought or (details and (plan.include_encrypted or plan.keep_reasoning)):
        output.append(reasoning_item(plan.ids("rs"), thought, details, plan))
    text = _text_of(message.get("content"))
    refusal = message.get("refusal")
    if text:
        item = message_item(plan.ids("msg"), text, status, logprobs=token_logprobs(choice))
        item["content"][0]["annotations"] = url_citations(text, runs, message.get("annotations"))
        output.append(item)
    elif isinstance(refusal, str) and refusal:
        output.append(message_item(plan.ids("msg"), refusal, status, refusal=True))
    return output


def chat_to_response(
    resp: dict[str, Any],
    plan: ResponsesPlan,
    *,
    response_id: str | None = None,
    created_at: int | None = None,
    steps: Sequence[Step] = (),
) -> tuple[dict[str, Any], Usage]:
    """``steps``: the gateway's web search rounds before ``resp`` (their words and searches come first)."""
    choices = resp.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message")
    if not isinstance(message, dict):
        message = {}
    incomplete = incomplete_reason(choice.get("finish_reason"))
    item_status = "incomplete" if incomplete else "completed"

    runs = [run for step in steps for run in step.runs if run.name == SEARCH_FUNCTION]
    output: list[dict[str, Any]] = []
    for step in steps:
        output += _said(step.said, plan, "completed", runs, {})
        output += [
            web_search_item(plan.ids("ws"), run, sources=plan.include_sources)
            for run in step.runs
            if run.name == SEARCH_FUNCTION
        ]
    output += _said(message, plan, item_status, runs, choice)
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, dict):
            continue
        fn = raw_fn if isinstance(raw_fn := call.get("function"), dict) else {}
        arguments = fn.get("arguments")
        if not isinstance(arguments, str):
            arguments = "" if arguments is None else str(arguments)
        call_id = raw_id if isinstance(raw_id := call.get("id"), str) and raw_id else new_id("call")
        name = fn.get("name") or ""
        output.append(
            plan.tools.output_item(plan.ids(plan.tools.item_prefix(name)), call_id, name, arguments, "completed")
        )

    raw_usage = resp.get("usage")
    body = response_envelope(
        plan,
        response_id=response_id or plan.response_id,
        created_at=created_at if created_at is not None else int(time.time()),
        status="incomplete" if incomplete else "completed",
        output=output,
        usage=responses_usage(raw_usage),
        incomplete=incomplete,
    )
    return body, usage_from_openai(raw_usage if isinstance(raw_usage, dict) else None)
