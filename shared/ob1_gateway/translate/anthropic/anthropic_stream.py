"""Upstream chat.completion.chunk stream -> Anthropic Messages SSE events: the Anthropic emitter on the
shared ``Sequencer`` (which decides when blocks open, grow and close), fed chunk by chunk.

Reasoning is split Anthropic's way: a signature ends a thinking block, and encrypted reasoning is a
``redacted_thinking`` block of its own.

The gateway's web tool runs (``ran``) come between the blocks as Anthropic streams them: the ``server_tool_use``
block (its input as one ``input_json_delta``), then the result block whole; a text block that cites their results
gets its ``citations_delta`` events before it closes.

Decisions: ``message_delta`` is held until ``finish()`` because the usage chunk (``choices: []``)
follows the finish_reason chunk. If the upstream ends without any finish_reason, ``finish()`` still
closes cleanly with the finish mapping of a missing reason (``end_turn``, or ``tool_use`` if tool calls
were streamed) when any content arrived; with no content at all it emits an ``error`` event (502). (The
relay first asks ``ending_fault()``, which refuses such a stream as broken.) If no usage chunk ever
arrived, ``message_delta`` reports the input estimate and 0 output tokens (the ``usage`` property stays
all zeros so nothing invented is recorded). Error chunks (``{"error": ...}``) and
``finish_reason: "error"`` end the stream with an ``error`` event.
"""

from __future__ import annotations

import json
from typing import Any

from ..answers.finish import stop_reason_for
from ..answers.sequencer import Block, Kind, Part, SequencedStream
from ..error_bodies import anthropic_error_body
from ..sse import Event
from ..token_usage import Usage, usage_from_openai
from ..upstream_refusals import context_overflow
from ..web_tools import ToolRun
from .anthropic_in import ChatPlan
from .web_blocks import run_blocks, server_tool_usage, text_citations

__all__ = ["AnthropicStream", "Event"]

_DELTAS = {
    Part.TEXT: ("text_delta", "text"),
    Part.REASONING: ("thinking_delta", "thinking"),
    Part.SIGNATURE: ("signature_delta", "signature"),
    Part.ARGUMENTS: ("input_json_delta", "partial_json"),
}


class AnthropicStream(SequencedStream):
    def __init__(self, plan: ChatPlan, *, message_id: str, input_tokens_estimate: int = 0) -> None:
        super().__init__(split_reasoning=True)
        self._plan = plan
        self.message_id = message_id
        self._estimate = max(int(input_tokens_estimate), 0)
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None

    # -- the stream's own events --------------------------------------------------------------------

    def _opening(self) -> list[Event]:
        message: dict[str, Any] = {
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

    def _closing(self) -> list[Event]:
        out = self._seq.drain()
        seq = self._seq
        self.stop_reason, self.stop_sequence = stop_reason_for(
            seq.finish_reason,
            native=seq.native_finish_reason,
            matched=seq.matched_stop,
            stop_sequences=self._plan.stop_sequences,
            had_tool_calls=bool(seq.tools),
        )
        usage = usage_from_openai(seq.raw_usage) if seq.raw_usage is not None else Usage(prompt_tokens=self._estimate)
        usage_body: dict[str, Any] = {
            "output_tokens": usage.completion_tokens,
            "input_tokens": usage.input_tokens,
            "cache_creation_input_tokens": usage.cache_write_tokens,
            "cache_read_input_tokens": usage.cache_read_tokens,
        }
        if self.runs:
            usage_body["server_tool_use"] = server_tool_usage(self.runs)
        delta = {"stop_reason": self.stop_reason, "stop_sequence": self.stop_sequence}
        out.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage_body}))
        out.append(("message_stop", {"type": "message_stop"}))
        return out

    def _failure(self, status: int, message: str) -> list[Event]:
        overflow = context_overflow(message)  # in Anthropic's words when the upstream gave both figures
        if overflow is not None and overflow.requested and overflow.maximum:
            status, message = 400, overflow.anthropic_message(overflow.requested, overflow.maximum)
        return [("error", anthropic_error_body(status, message))]

    # -- the Emitter: content blocks ----------------------------------------------------------------

    def opened(self, block: Block) -> list[Event]:
        if block.kind is Kind.TEXT:
            content: dict[str, Any] = {"type": "text", "text": ""}
        elif block.kind is Kind.REASONING:
            content = {"type": "thinking", "thinking": "", "signature": ""}
        elif block.kind is Kind.TOOL:
            content = {
                "type": "tool_use",
                "id": block.upstream_id or f"toolu_{self.message_id.removeprefix('msg_')}_{block.ordinal}",
                "name": self._plan.tool_names.restore(block.name or ""),
                "input": {},
            }
        else:
            content = {"type": "redacted_thinking", "data": block.data}
        return [
            ("content_block_start", {"type": "content_block_start", "index": block.index, "content_block": content})
        ]

    def ran(self, run: ToolRun) -> list[Event]:
        out: list[Event] = []
        for content in run_blocks(run):
            index = self._seq.interjection_index()
            if content["type"] == "server_tool_use":
                start = {**content, "input": {}}
                partial = json.dumps(content["input"], ensure_ascii=False, separators=(",", ":"))
                delta = {"type": "input_json_delta", "partial_json": partial}
                out.append(
                    ("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
                )
                out.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
            else:
                out.append(
                    ("content_block_start", {"type": "content_block_start", "index": index, "content_block": content})
                )
            out.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        return out

    def appended(self, block: Block, part: Part, value: str) -> list[Event]:
        if part is Part.TEXT:  # kept to find the web results it cites when it closes
            block.wire.setdefault("text", []).append(value)
        kind, key = _DELTAS[part]
        delta = {"type": "content_block_delta", "index": block.index, "delta": {"type": kind, key: value}}
        return [("content_block_delta", delta)]

    def closed(self, block: Block) -> list[Event]:
        out: list[Event] = []
        if block.kind is Kind.TEXT and (self.runs or self.annotations):
            for citation in text_citations("".join(block.wire.get("text", ())), self.runs, self.annotations):
                delta = {"type": "citations_delta", "citation": citation}
                out.append(
                    ("content_block_delta", {"type": "content_block_delta", "index": block.index, "delta": delta})
                )
        out.append(("content_block_stop", {"type": "content_block_stop", "index": block.index}))
        return out
