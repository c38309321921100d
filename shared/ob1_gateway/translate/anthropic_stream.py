"""Upstream chat.completion.chunk stream -> Anthropic Messages SSE events: one state machine per
response, fed chunk by chunk (DESIGN §4, "Responses and streams").

Anthropic's wire format allows exactly one open content block at a time, with dense indexes from 0.
Upstream content arrives as three interleavable streams (reasoning, text, tool calls keyed by
``tool_calls[].index``), so blocks are kept as records:

- the *current* block receives its content live (raw fragments, never re-chunked);
- content for any other block is buffered in a *pending* record (queued in order of first arrival);
- the current block is closed and the next pending one opened (its buffer emitted as one delta) as soon
  as the current one is complete. Text and thinking are complete whenever something else arrives; a
  tool call only once its accumulated arguments parse as a JSON object. So parallel tool calls whose
  argument fragments interleave each keep their own arguments (never merged), a sequential stream is
  forwarded with no added delay, and text after a tool call opens a new block at the next index.
  Fragments for a tool block already closed as complete can only be whitespace or garbage and are
  dropped.

Decisions: ``message_delta`` is held until ``finish()`` because the usage chunk (``choices: []``)
follows the finish_reason chunk. If the upstream ends without any finish_reason, ``finish()`` still
closes cleanly with the finish mapping of a missing reason (``end_turn``, or ``tool_use`` if tool calls
were streamed) when any content arrived; with no content at all it emits an ``error`` event (502).
If no usage chunk ever arrived, ``message_delta`` reports the input estimate and 0 output tokens (the
``usage`` property stays all zeros so nothing invented is recorded). Error chunks (``{"error": ...}``)
and ``finish_reason: "error"`` end the stream with an ``error`` event.
"""

from __future__ import annotations

from typing import Any

from .anthropic_in import ChatPlan
from .errors import anthropic_error_body, chunk_error
from .finish import stop_reason_for
from .reasoning import ENCRYPTED, TEXT, reasoning_items
from .sse import Event
from .tool_calls import ToolCalls, arguments_complete
from .usage import Usage, usage_from_openai

__all__ = ["AnthropicStream", "Event"]

_TEXT, _THINKING, _TOOL, _REDACTED = "text", "thinking", "tool", "redacted"
_PENDING, _OPEN, _CLOSED = 0, 1, 2


class AnthropicStream:
    def __init__(self, plan: ChatPlan, *, message_id: str, input_tokens_estimate: int = 0) -> None:
        self._plan = plan
        self.message_id = message_id
        self._estimate = max(int(input_tokens_estimate), 0)
        self._usage: Usage | None = None
        self._next_index = 0
        self._cur: dict[str, Any] | None = None
        self._pending: list[dict[str, Any]] = []
        self._tools = ToolCalls()
        self._finish_reason: Any = None
        self._native: Any = None
        self._matched: Any = None
        self._any_content = False
        self._started = False
        self.finished = False
        self.failed_status: int | None = None  # set when the stream ended with an error event
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None

    @property
    def usage(self) -> Usage:
        """The latest upstream usage seen (zeros before any)."""
        return self._usage or Usage()

    # -- public events ----------------------------------------------------------------------------

    def start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        message = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self._plan.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": self._estimate,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }
        return [("message_start", {"type": "message_start", "message": message}), self.ping()]

    @staticmethod
    def ping() -> Event:
        return ("ping", {"type": "ping"})

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        if self.finished:
            return []
        out: list[Event] = [] if self._started else self.start()
        err = chunk_error(chunk)
        if err is not None:
            return out + self.fail(*err)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = usage_from_openai(usage)
        choices = chunk.get("choices")
        if not choices or not isinstance(choices, list):
            return out
        choice = choices[0]
        if not isinstance(choice, dict):
            return out
        delta = choice.get("delta")
        if isinstance(delta, dict):
            if delta.get("reasoning") or delta.get("reasoning_details") or delta.get("reasoning_content"):
                self._reasoning(reasoning_items(delta), out)
            text = delta.get("content")
            if isinstance(text, str) and text:
                self._text(text, out)
            refusal = delta.get("refusal")
            if isinstance(refusal, str) and refusal:
                self._text(refusal, out)
            calls = delta.get("tool_calls")
            if calls and isinstance(calls, list):
                for call in calls:
                    if isinstance(call, dict):
                        self._tool(call, out)
        reason = choice.get("finish_reason")
        if reason:
            self._finish_reason = reason
            if choice.get("native_finish_reason") is not None:
                self._native = choice["native_finish_reason"]
            if choice.get("stop_reason") is not None:
                self._matched = choice["stop_reason"]
            if reason == "error":
                out.extend(self.fail(502, "upstream reported an error while streaming"))
        return out

    def finish(self) -> list[Event]:
        if self.finished:
            return []
        out: list[Event] = [] if self._started else self.start()
        while self._pending:
            self._close(out)
            self._open(self._pending.pop(0), out)
        self._close(out)
        if self._finish_reason is None and not self._any_content:
            return out + self.fail(502, "upstream ended the stream without a response")
        self.stop_reason, self.stop_sequence = stop_reason_for(
            self._finish_reason,
            native=self._native,
            matched=self._matched,
            stop_sequences=self._plan.stop_sequences,
            had_tool_calls=self._tools.count > 0,
        )
        usage = self._usage or Usage(prompt_tokens=self._estimate)
        self.finished = True
        out.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": self.stop_reason, "stop_sequence": self.stop_sequence},
                    "usage": {
                        "output_tokens": usage.completion_tokens,
                        "input_tokens": usage.input_tokens,
                        "cache_creation_input_tokens": usage.cache_write_tokens,
                        "cache_read_input_tokens": usage.cache_read_tokens,
                    },
                },
            )
        )
        out.append(("message_stop", {"type": "message_stop"}))
        return out

    def fail(self, status: int, message: str) -> list[Event]:
        if self.finished:
            return []
        self.finished = True
        self.failed_status = status
        return [("error", anthropic_error_body(status, message))]

    # -- content routing --------------------------------------------------------------------------

    def _live(self, kind: str) -> dict[str, Any] | None:
        """The current block if new content of ``kind`` may go straight to it."""
        cur = self._cur
        if cur is not None and cur["kind"] == kind and not self._pending and not cur.get("signed"):
            return cur
        return None

    def _buffer(self, kind: str) -> dict[str, Any]:
        """The pending record that new content of ``kind`` joins (the last one, if it is of that kind)."""
        if self._pending:
            last = self._pending[-1]
            if last["kind"] == kind and not last.get("signed"):
                return last
        rec: dict[str, Any] = {"kind": kind, "state": _PENDING, "buf": []}
        self._pending.append(rec)
        self._any_content = True
        return rec

    def _text(self, text: str, out: list[Event]) -> None:
        cur = self._live(_TEXT)
        if cur is not None:
            out.append(self._delta(cur, {"type": "text_delta", "text": text}))
            return
        self._buffer(_TEXT)["buf"].append(text)
        self._advance(out)

    def _reasoning(self, items: list[tuple[str, str]], out: list[Event]) -> None:
        for kind, value in items:
            if kind == ENCRYPTED:
                self._pending.append({"kind": _REDACTED, "state": _PENDING, "data": value})
                self._any_content = True
                self._advance(out)
                continue
            cur = self._live(_THINKING)
            if cur is not None:
                if kind == TEXT:
                    out.append(self._delta(cur, {"type": "thinking_delta", "thinking": value}))
                else:
                    out.append(self._delta(cur, {"type": "signature_delta", "signature": value}))
                    cur["signed"] = True
                continue
            rec = self._buffer(_THINKING)
            if kind == TEXT:
                rec["buf"].append(value)
            else:
                rec["signature"] = value
                rec["signed"] = True
            self._advance(out)

    def _tool(self, call: dict[str, Any], out: list[Event]) -> None:
        rec, created, args = self._tools.track(call, self._new_tool)
        if created:
            self._pending.append(rec)
            self._any_content = True
        if args:
            state = rec["state"]
            if state == _OPEN:
                rec["buf"].append(args)
                rec["complete"] = False
                out.append(self._delta(rec, {"type": "input_json_delta", "partial_json": args}))
            elif state == _PENDING:
                rec["buf"].append(args)
            # _CLOSED: the block was closed as a complete JSON object; trailing bytes are dropped.
        self._advance(out)

    def _new_tool(self, call_id: str | None, name: str | None) -> dict[str, Any]:
        return {
            "kind": _TOOL,
            "state": _PENDING,
            "buf": [],
            "upstream_id": call_id,
            "id": call_id or f"toolu_{self.message_id.removeprefix('msg_')}_{self._tools.count}",
            "name": name,
            "complete": False,
        }

    # -- block lifecycle --------------------------------------------------------------------------

    def _advance(self, out: list[Event]) -> None:
        """Open pending blocks in order while the current block is complete."""
        pending = self._pending
        while pending:
            cur = self._cur
            if cur is not None and cur["kind"] == _TOOL and not cur["complete"]:
                if not arguments_complete("".join(cur["buf"])):
                    return
                cur["complete"] = True
            nxt = pending[0]
            if nxt["kind"] == _TOOL and not nxt["name"]:
                return  # cannot start a tool_use block before its name is known
            pending.pop(0)
            self._close(out)
            self._open(nxt, out)

    def _open(self, rec: dict[str, Any], out: list[Event]) -> None:
        index = self._next_index
        self._next_index += 1
        rec["index"] = index
        rec["state"] = _OPEN
        self._cur = rec
        kind = rec["kind"]
        if kind == _TEXT:
            block: dict[str, Any] = {"type": "text", "text": ""}
        elif kind == _THINKING:
            block = {"type": "thinking", "thinking": "", "signature": ""}
        elif kind == _TOOL:
            block = {
                "type": "tool_use",
                "id": rec["id"],
                "name": self._plan.tool_names.restore(rec["name"] or ""),
                "input": {},
            }
        else:
            block = {"type": "redacted_thinking", "data": rec["data"]}
        out.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": block}))
        buffered = "".join(rec["buf"]) if kind != _REDACTED else ""
        if buffered:
            if kind == _TEXT:
                delta = {"type": "text_delta", "text": buffered}
            elif kind == _THINKING:
                delta = {"type": "thinking_delta", "thinking": buffered}
            else:
                delta = {"type": "input_json_delta", "partial_json": buffered}
                rec["buf"] = [buffered]
            out.append(self._delta(rec, delta))
        if kind == _THINKING and rec.get("signature"):
            out.append(self._delta(rec, {"type": "signature_delta", "signature": rec["signature"]}))

    def _close(self, out: list[Event]) -> None:
        cur = self._cur
        if cur is None:
            return
        cur["state"] = _CLOSED
        self._cur = None
        out.append(("content_block_stop", {"type": "content_block_stop", "index": cur["index"]}))

    @staticmethod
    def _delta(rec: dict[str, Any], delta: dict[str, Any]) -> Event:
        return ("content_block_delta", {"type": "content_block_delta", "index": rec["index"], "delta": delta})
