"""Upstream chat.completion.chunk stream -> OpenAI Responses SSE events: one state machine per response,
fed chunk by chunk.

Order on the wire: ``response.created``, ``response.in_progress``, then output items one at a time
(``output_item.added`` ... ``output_item.done``, dense ``output_index`` from 0), then
``response.completed`` (or ``response.incomplete`` when the output hit ``max_output_tokens``, as the
real API does) with usage. Every event carries a dense ``sequence_number`` from 0.

Responses clients expect one item to finish before the next starts: this is the Responses emitter on
the shared ``Sequencer``, which decides when items open, grow and close (one item per block; all
reasoning in a row is one reasoning item, its signatures and encrypted parts kept for
``encrypted_content``).

The gateway's web searches (``ran``) are ``web_search_call`` items in their place, with the
``response.web_search_call.in_progress`` / ``searching`` / ``completed`` events; a message that cites their results
gets its ``url_citation`` annotations (``response.output_text.annotation.added``) before its text is done.

Failures (an error chunk, ``finish_reason: "error"``, or ``fail()`` from the router when the upstream
breaks) end the stream with ``response.failed`` carrying the error and the items so far. If usage
never arrives, usage is reported as zeros (nothing invented is recorded).
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..answers.sequencer import Block, Kind, Part, SequencedStream
from ..sse import Event
from ..upstream_refusals import CONTEXT_LENGTH_EXCEEDED, context_overflow
from ..web_tools import SEARCH_FUNCTION, ToolRun
from .responses_in import ResponsesPlan
from .responses_out import (
    details_from_items,
    incomplete_reason,
    message_item,
    new_id,
    public_view,
    reasoning_item,
    response_envelope,
    responses_usage,
    token_logprobs,
    url_citations,
    web_search_item,
)

__all__ = ["Event", "ResponsesStream"]


def _error_code(status: int) -> str:
    return {429: "rate_limit_exceeded", 400: "invalid_prompt"}.get(status, "server_error")


class ResponsesStream(SequencedStream):
    def __init__(self, plan: ResponsesPlan, *, response_id: str | None = None, created_at: int | None = None) -> None:
        super().__init__()
        self._plan = plan
        self.response_id = response_id or plan.response_id
        self.created_at = created_at if created_at is not None else int(time.time())
        self._seq_number = 0
        self._closing_status = "completed"
        self.status: str | None = None
        self.response: dict[str, Any] | None = None  # the final Response, whole (what is stored)
        self._logprobs: list[Any] = []
        self._searches: list[tuple[int, dict[str, Any]]] = []  # (output index, web_search_call item)

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            self._logprobs = token_logprobs(choices[0])
        return super().feed(chunk)

    # -- the stream's own events --------------------------------------------------------------------

    def _opening(self) -> list[Event]:
        response = self._envelope("in_progress", [])
        return [
            self._event("response.created", response=response),
            self._event("response.in_progress", response=response),
        ]

    def _closing(self) -> list[Event]:
        seq = self._seq
        incomplete = incomplete_reason(seq.finish_reason)
        status = "incomplete" if incomplete else "completed"
        self._closing_status = status
        out = seq.drain()
        self.status = status
        response = self._final(self._envelope(status, self._items(), incomplete=incomplete, whole=True))
        response["usage"] = responses_usage(seq.raw_usage)
        out.append(self._event(f"response.{status}", response=self._public(response)))
        return out

    def _failure(self, status: int, message: str) -> list[Event]:
        out = self.start()
        self.status = "failed"
        items = self._items()
        for item in items:
            if item.get("status") == "in_progress":
                item["status"] = "incomplete"
        code = CONTEXT_LENGTH_EXCEEDED if context_overflow(message) else _error_code(status)
        error = {"code": code, "message": message}
        response = self._final(self._envelope("failed", items, error=error, whole=True))
        raw_usage = self._seq.raw_usage
        response["usage"] = responses_usage(raw_usage) if raw_usage else None
        out.append(self._event("response.failed", response=self._public(response)))
        return out

    # -- the gateway's web searches ---------------------------------------------------------------

    def ran(self, run: ToolRun) -> list[Event]:
        if run.name != SEARCH_FUNCTION:
            return []
        index = self._seq.interjection_index()
        item = web_search_item(self._plan.ids("ws"), run, sources=self._plan.include_sources)
        self._searches.append((index, item))
        where = {"item_id": item["id"], "output_index": index}
        started = {**item, "status": "in_progress", "action": {"type": "search", "query": run.query}}
        return [
            self._event("response.output_item.added", output_index=index, item=started),
            self._event("response.web_search_call.in_progress", **where),
            self._event("response.web_search_call.searching", **where),
            self._event("response.web_search_call.completed", **where),
            self._event("response.output_item.done", output_index=index, item=json.loads(json.dumps(item))),
        ]

    # -- the Emitter: output items ----------------------------------------------------------------

    def opened(self, block: Block) -> list[Event]:
        if block.kind is Kind.TEXT:
            item = block.wire["item"] = message_item(self._plan.ids("msg"), "", "in_progress")
            added = {**item, "content": []}
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            return [
                self._event("response.output_item.added", output_index=block.index, item=added),
                self._event("response.content_part.added", **self._where(block), content_index=0, part=part),
            ]
        if block.kind is Kind.REASONING:
            item = block.wire["item"] = {"type": "reasoning", "id": self._plan.ids("rs"), "summary": []}
            block.wire["text"] = ""
        else:
            tools, name = self._plan.tools, block.name or ""
            call_id = block.upstream_id or new_id("call")
            item_id = self._plan.ids(tools.item_prefix(name))
            item = block.wire["item"] = tools.output_item(item_id, call_id, name, "", "in_progress")
            block.wire["arguments"] = ""  # custom and shell calls are made whole once their arguments are
        return [self._event("response.output_item.added", output_index=block.index, item=json.loads(json.dumps(item)))]

    def appended(self, block: Block, part: Part, value: str) -> list[Event]:
        where = self._where(block)
        item = block.wire["item"]
        if part is Part.TEXT:
            logprobs, self._logprobs = self._logprobs, []  # the tokens of the chunk this text came in
            content = item["content"][0]
            content["text"] += value
            content["logprobs"].extend(logprobs)
            return [self._event("response.output_text.delta", **where, content_index=0, delta=value, logprobs=logprobs)]
        if part is Part.ARGUMENTS:
            block.wire["arguments"] += value
            if item["type"] != "function_call":
                return []
            item["arguments"] += value
            return [self._event("response.function_call_arguments.delta", **where, delta=value)]
        if part is not Part.REASONING:
            return []  # signatures travel in encrypted_content, not as deltas
        out: list[Event] = []
        if not block.wire["text"]:
            summary = {"type": "summary_text", "text": ""}
            out.append(self._event("response.reasoning_summary_part.added", **where, summary_index=0, part=summary))
        block.wire["text"] += value
        out.append(self._event("response.reasoning_summary_text.delta", **where, summary_index=0, delta=value))
        return out

    def closed(self, block: Block) -> list[Event]:
        where = self._where(block)
        item = block.wire["item"]
        out: list[Event] = []
        if block.kind is Kind.TEXT:
            part = item["content"][0]
            item["status"] = self._closing_status
            cited = url_citations(part["text"], self.runs, self.annotations) if self.runs or self.annotations else []
            for n, annotation in enumerate(cited):
                part["annotations"].append(annotation)
                out.append(
                    self._event(
                        "response.output_text.annotation.added",
                        **where,
                        content_index=0,
                        annotation_index=n,
                        annotation=annotation,
                    )
                )
            out.append(
                self._event(
                    "response.output_text.done", **where, content_index=0, text=part["text"], logprobs=part["logprobs"]
                )
            )
            out.append(self._event("response.content_part.done", **where, content_index=0, part=dict(part)))
        elif block.kind is Kind.REASONING:
            text = block.wire["text"]
            details = details_from_items(block.reasoning, self._seq.reasoning_format)
            final = reasoning_item(item["id"], text, details, self._plan)
            if text:
                summary = {"type": "summary_text", "text": text}
                out.append(self._event("response.reasoning_summary_text.done", **where, summary_index=0, text=text))
                out.append(self._event("response.reasoning_summary_part.done", **where, summary_index=0, part=summary))
            item.clear()
            item.update(final)
        elif item["type"] == "function_call":
            item["status"] = "completed"
            out.append(
                self._event(
                    "response.function_call_arguments.done", **where, name=item["name"], arguments=item["arguments"]
                )
            )
        else:
            whole = self._plan.tools.output_item(
                item["id"], item["call_id"], block.name or "", block.wire["arguments"], "completed"
            )
            item.clear()
            item.update(whole)
            if item["type"] == "custom_tool_call":
                text = item["input"]
                out.append(self._event("response.custom_tool_call_input.delta", **where, delta=text))
                out.append(self._event("response.custom_tool_call_input.done", **where, input=text))
        done = self._public({"output": [json.loads(json.dumps(item))]})["output"][0]
        out.append(self._event("response.output_item.done", output_index=block.index, item=done))
        return out

    # -- helpers ----------------------------------------------------------------------------------

    def _items(self) -> list[dict[str, Any]]:
        placed = [(block.index, block.wire["item"]) for block in self._seq.open_blocks] + self._searches
        return [item for _, item in sorted(placed, key=lambda pair: pair[0])]

    @staticmethod
    def _where(block: Block) -> dict[str, Any]:
        return {"item_id": block.wire["item"]["id"], "output_index": block.index}

    def _envelope(
        self, status: str, output: list[dict[str, Any]], *, whole: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        output = json.loads(json.dumps(output))  # a snapshot: later deltas must not change sent events
        response = response_envelope(
            self._plan, response_id=self.response_id, created_at=self.created_at, status=status, output=output, **kwargs
        )
        return response if whole else self._public(response)

    def _final(self, response: dict[str, Any]) -> dict[str, Any]:
        self.response = response
        return response

    def _public(self, response: dict[str, Any]) -> dict[str, Any]:
        return public_view(response, include_encrypted=self._plan.include_encrypted)

    def _event(self, kind: str, **payload: Any) -> Event:
        data = {"type": kind, "sequence_number": self._seq_number, **payload}
        self._seq_number += 1
        return kind, data
