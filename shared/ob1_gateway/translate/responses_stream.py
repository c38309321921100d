"""Upstream chat.completion.chunk stream -> OpenAI Responses SSE events: one state machine per response,
fed chunk by chunk.

Order on the wire: ``response.created``, ``response.in_progress``, then output items one at a time
(``output_item.added`` ... ``output_item.done``, dense ``output_index`` from 0), then
``response.completed`` (or ``response.incomplete`` when the output hit ``max_output_tokens``, as the
real API does) with usage. Every event carries a dense ``sequence_number`` from 0.

Upstream content arrives as interleavable streams (reasoning, text, tool calls keyed by
``tool_calls[].index``), while Responses clients expect one item to finish before the next starts. So,
as in ``anthropic_stream``: the *current* item gets its content live; content for any other item is
buffered in a *pending* record (queued in order of first arrival) and emitted as one delta when it is
opened. The current item is complete when something else arrives (text, reasoning) or once its
arguments parse as a JSON object (function calls). Parallel calls with interleaved fragments thus keep
their own arguments, and text after a tool call becomes a new message item.

Failures (an error chunk, ``finish_reason: "error"``, or ``fail()`` from the router when the upstream
breaks) end the stream with ``response.failed`` carrying the error and the items so far. If usage
never arrives, usage is reported as zeros (nothing invented is recorded).
"""

from __future__ import annotations

import json
import time
from typing import Any

from .errors import chunk_error
from .reasoning import TEXT, reasoning_items
from .responses_in import ResponsesPlan
from .responses_out import (
    details_from_items,
    function_call_item,
    incomplete_reason,
    message_item,
    new_id,
    reasoning_item,
    response_envelope,
    responses_usage,
)
from .sse import Event
from .tool_calls import ToolCalls, arguments_complete
from .usage import Usage, usage_from_openai

__all__ = ["Event", "ResponsesStream"]

_MESSAGE, _REASONING, _CALL = "message", "reasoning", "function_call"
_PENDING, _OPEN, _CLOSED = 0, 1, 2


def _error_code(status: int) -> str:
    return {429: "rate_limit_exceeded", 400: "invalid_prompt"}.get(status, "server_error")


class ResponsesStream:
    def __init__(self, plan: ResponsesPlan, *, response_id: str, created_at: int | None = None) -> None:
        self._plan = plan
        self.response_id = response_id
        self.created_at = created_at if created_at is not None else int(time.time())
        self._seq = 0
        self._raw_usage: dict[str, Any] | None = None
        self._records: list[dict[str, Any]] = []  # opened items, in output_index order
        self._pending: list[dict[str, Any]] = []
        self._cur: dict[str, Any] | None = None
        self._calls = ToolCalls()
        self._format: str | None = None
        self._finish_reason: Any = None
        self._any_content = False
        self._started = False
        self.finished = False
        self.status: str | None = None
        self.failed_status: int | None = None

    @property
    def usage(self) -> Usage:
        """The latest upstream usage seen (zeros before any)."""
        return usage_from_openai(self._raw_usage)

    # -- public events ----------------------------------------------------------------------------

    def start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        response = self._envelope("in_progress", [])
        return [
            self._event("response.created", response=response),
            self._event("response.in_progress", response=response),
        ]

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        if self.finished:
            return []
        out = self.start()
        err = chunk_error(chunk)
        if err is not None:
            return out + self.fail(*err)
        if isinstance(chunk.get("usage"), dict):
            self._raw_usage = chunk["usage"]
        choices = chunk.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
        if choice is None:
            return out
        delta = choice.get("delta")
        if isinstance(delta, dict):
            if delta.get("reasoning") or delta.get("reasoning_details") or delta.get("reasoning_content"):
                self._note_format(delta.get("reasoning_details"))
                self._reasoning(reasoning_items(delta), out)
            for key in ("content", "refusal"):
                text = delta.get(key)
                if isinstance(text, str) and text:
                    self._text(text, out)
            calls = delta.get("tool_calls")
            for call in calls if isinstance(calls, list) else []:
                if isinstance(call, dict):
                    self._call(call, out)
        reason = choice.get("finish_reason")
        if reason:
            self._finish_reason = reason
            if reason == "error":
                out.extend(self.fail(502, "upstream reported an error while streaming"))
        return out

    def finish(self) -> list[Event]:
        if self.finished:
            return []
        out = self.start()
        if self._finish_reason is None and not self._any_content:
            return out + self.fail(502, "upstream ended the stream without a response")
        incomplete = incomplete_reason(self._finish_reason)
        status = "incomplete" if incomplete else "completed"
        while self._pending:
            self._close(out, status)
            self._open(self._pending.pop(0), out)
        self._close(out, status)
        self.finished = True
        self.status = status
        response = self._envelope(status, [r["item"] for r in self._records], incomplete=incomplete)
        response["usage"] = responses_usage(self._raw_usage)
        out.append(self._event(f"response.{status}", response=response))
        return out

    def fail(self, status: int, message: str) -> list[Event]:
        if self.finished:
            return []
        out = self.start()
        self.finished = True
        self.status = "failed"
        self.failed_status = status
        items = [r["item"] for r in self._records]
        for item in items:
            if item.get("status") == "in_progress":
                item["status"] = "incomplete"
        response = self._envelope("failed", items, error={"code": _error_code(status), "message": message})
        response["usage"] = responses_usage(self._raw_usage) if self._raw_usage else None
        out.append(self._event("response.failed", response=response))
        return out

    # -- content routing --------------------------------------------------------------------------

    def _live(self, kind: str) -> dict[str, Any] | None:
        cur = self._cur
        return cur if cur is not None and cur["kind"] == kind and not self._pending else None

    def _buffer(self, kind: str) -> dict[str, Any]:
        if self._pending and self._pending[-1]["kind"] == kind:
            return self._pending[-1]
        rec: dict[str, Any] = {"kind": kind, "state": _PENDING, "buf": [], "reasoning": []}
        self._pending.append(rec)
        self._any_content = True
        return rec

    def _text(self, text: str, out: list[Event]) -> None:
        cur = self._live(_MESSAGE)
        if cur is not None:
            self._text_delta(cur, text, out)
            return
        self._buffer(_MESSAGE)["buf"].append(text)
        self._advance(out)

    def _reasoning(self, items: list[tuple[str, str]], out: list[Event]) -> None:
        for kind, value in items:
            cur = self._live(_REASONING)
            rec = cur if cur is not None else self._buffer(_REASONING)
            rec["reasoning"].append((kind, value))
            if kind != TEXT:
                continue
            if cur is not None:
                self._summary_delta(cur, value, out)
            else:
                rec["buf"].append(value)
        self._advance(out)

    def _call(self, call: dict[str, Any], out: list[Event]) -> None:
        rec, created, args = self._calls.track(call, self._new_call)
        if created:
            self._pending.append(rec)
            self._any_content = True
        elif rec["upstream_id"] is None and isinstance(call.get("id"), str) and call["id"]:
            rec["upstream_id"] = call["id"]  # still pending: the item is announced with it
        if args:
            if rec["state"] == _OPEN:
                rec["buf"].append(args)
                rec["complete"] = False
                rec["item"]["arguments"] += args
                out.append(self._event("response.function_call_arguments.delta", **self._where(rec), delta=args))
            elif rec["state"] == _PENDING:
                rec["buf"].append(args)
            # _CLOSED: closed as a complete JSON object; trailing bytes can only be whitespace or garbage.
        self._advance(out)

    @staticmethod
    def _new_call(call_id: str | None, name: str | None) -> dict[str, Any]:
        return {"kind": _CALL, "state": _PENDING, "buf": [], "upstream_id": call_id, "name": name, "complete": False}

    # -- item lifecycle ---------------------------------------------------------------------------

    def _advance(self, out: list[Event]) -> None:
        """Open pending items in order while the current one is complete."""
        while self._pending:
            cur = self._cur
            if cur is not None and cur["kind"] == _CALL and not cur["complete"]:
                if not arguments_complete(cur["item"]["arguments"]):
                    return
                cur["complete"] = True
            nxt = self._pending[0]
            if nxt["kind"] == _CALL and not nxt["name"]:
                return  # a function_call item cannot be announced before its name is known
            self._pending.pop(0)
            self._close(out, "completed")
            self._open(nxt, out)

    def _open(self, rec: dict[str, Any], out: list[Event]) -> None:
        rec["state"] = _OPEN
        rec["index"] = len(self._records)
        self._records.append(rec)
        self._cur = rec
        kind = rec["kind"]
        buffered = "".join(rec["buf"])
        if kind == _MESSAGE:
            rec["item"] = message_item(new_id("msg"), "", "in_progress")
            added = {**rec["item"], "content": []}
            out.append(self._event("response.output_item.added", output_index=rec["index"], item=added))
            out.append(
                self._event(
                    "response.content_part.added",
                    **self._where(rec),
                    content_index=0,
                    part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
                )
            )
            if buffered:
                self._text_delta(rec, buffered, out)
        elif kind == _REASONING:
            rec["item"] = {"type": "reasoning", "id": new_id("rs"), "summary": []}
            rec["text"] = ""
            out.append(self._event("response.output_item.added", output_index=rec["index"], item=dict(rec["item"])))
            if buffered:
                self._summary_delta(rec, buffered, out)
        else:
            call_id = rec["upstream_id"] or new_id("call")
            name = self._plan.tool_names.restore(rec["name"] or "")
            rec["item"] = function_call_item(new_id("fc"), call_id, name, "", "in_progress")
            out.append(self._event("response.output_item.added", output_index=rec["index"], item=dict(rec["item"])))
            if buffered:
                rec["item"]["arguments"] = buffered
                out.append(self._event("response.function_call_arguments.delta", **self._where(rec), delta=buffered))

    def _close(self, out: list[Event], status: str) -> None:
        rec = self._cur
        if rec is None:
            return
        rec["state"] = _CLOSED
        self._cur = None
        where = self._where(rec)
        item = rec["item"]
        if rec["kind"] == _MESSAGE:
            part = item["content"][0]
            item["status"] = status
            out.append(
                self._event("response.output_text.done", **where, content_index=0, text=part["text"], logprobs=[])
            )
            out.append(self._event("response.content_part.done", **where, content_index=0, part=dict(part)))
        elif rec["kind"] == _REASONING:
            text = rec["text"]
            details = details_from_items(rec["reasoning"], self._format)
            final = reasoning_item(item["id"], text, details, self._plan)
            if text:
                part = {"type": "summary_text", "text": text}
                out.append(self._event("response.reasoning_summary_text.done", **where, summary_index=0, text=text))
                out.append(self._event("response.reasoning_summary_part.done", **where, summary_index=0, part=part))
            item.clear()
            item.update(final)
        else:
            item["status"] = "completed"
            out.append(
                self._event(
                    "response.function_call_arguments.done", **where, name=item["name"], arguments=item["arguments"]
                )
            )
        out.append(
            self._event("response.output_item.done", output_index=rec["index"], item=json.loads(json.dumps(item)))
        )

    def _text_delta(self, rec: dict[str, Any], text: str, out: list[Event]) -> None:
        rec["item"]["content"][0]["text"] += text
        out.append(
            self._event("response.output_text.delta", **self._where(rec), content_index=0, delta=text, logprobs=[])
        )

    def _summary_delta(self, rec: dict[str, Any], text: str, out: list[Event]) -> None:
        where = self._where(rec)
        if not rec["text"]:
            part = {"type": "summary_text", "text": ""}
            out.append(self._event("response.reasoning_summary_part.added", **where, summary_index=0, part=part))
        rec["text"] += text
        out.append(self._event("response.reasoning_summary_text.delta", **where, summary_index=0, delta=text))

    # -- helpers ----------------------------------------------------------------------------------

    def _note_format(self, details: Any) -> None:
        if self._format is None and isinstance(details, list):
            for d in details:
                if isinstance(d, dict) and isinstance(d.get("format"), str) and d["format"]:
                    self._format = d["format"]
                    return

    @staticmethod
    def _where(rec: dict[str, Any]) -> dict[str, Any]:
        return {"item_id": rec["item"]["id"], "output_index": rec["index"]}

    def _envelope(self, status: str, output: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        output = json.loads(json.dumps(output))  # a snapshot: later deltas must not change sent events
        return response_envelope(
            self._plan, response_id=self.response_id, created_at=self.created_at, status=status, output=output, **kwargs
        )

    def _event(self, kind: str, **payload: Any) -> Event:
        data = {"type": kind, "sequence_number": self._seq, **payload}
        self._seq += 1
        return kind, data
