"""Upstream chat.completion.chunk stream -> an ordered sequence of output blocks: the one state machine
behind every streamed API (Anthropic content blocks, Responses output items, chat pass-through).

Upstream content arrives as interleavable streams (reasoning, text, tool calls keyed by
``tool_calls[].index``), while the translated wire formats allow one open block at a time, with dense
indexes from 0. So each block is a ``Block`` record:

- the *current* block receives its content live (raw fragments, never re-chunked);
- content for any other block is buffered in a *pending* block (queued in order of first arrival);
- the current block is closed and the next pending one opened (its buffer emitted as one fragment) as
  soon as the current one is complete. Text and reasoning are complete whenever something else arrives;
  a tool call only once its accumulated arguments parse as a JSON object. So parallel tool calls whose
  argument fragments interleave each keep their own arguments, a sequential stream is forwarded with no
  added delay, and text after a tool call opens a new block. Fragments for a tool block already closed
  as complete can only be whitespace or garbage and are dropped.

Tool-call identity: fragments are keyed by ``tool_calls[].index``; some upstreams omit it (then the
call's id, else the call before it continues), send garbage there, or reuse an index for a new call
(a different id, which starts a new block).

What each API makes of a block is its ``Emitter``'s job; the sequencer only says when a block opens,
grows and closes. It also keeps what the end of the stream is judged by (``ending_fault``).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from ..error_bodies import chunk_error
from ..sse import Event
from ..token_usage import Usage, usage_from_openai
from ..web_tools import RUN_KEY, ToolRun
from .reasoning import ENCRYPTED, SIGNATURE, TEXT, reasoning_items

__all__ = [
    "NO_FINISH_REASON",
    "Block",
    "Emitter",
    "Kind",
    "Part",
    "SequencedStream",
    "Sequencer",
    "State",
    "arguments_complete",
]


class Kind(Enum):
    TEXT = "text"
    REASONING = "reasoning"
    TOOL = "tool"
    REDACTED = "redacted"  # encrypted reasoning as a block of its own (Anthropic's redacted_thinking)


class State(Enum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"


class Part(Enum):
    """What a fragment handed to an emitter is."""

    TEXT = "text"
    REASONING = "reasoning"
    SIGNATURE = "signature"
    ARGUMENTS = "arguments"


NO_FINISH_REASON = "upstream ended the stream without a finish reason"

_BUFFERED_PART = {Kind.TEXT: Part.TEXT, Kind.REASONING: Part.REASONING, Kind.TOOL: Part.ARGUMENTS}


@dataclass(eq=False, slots=True)
class Block:
    kind: Kind
    state: State = State.PENDING
    index: int = -1  # position on the wire, once opened
    buffer: list[str] = field(default_factory=list)  # content that arrived while pending
    reasoning: list[tuple[str, str]] = field(default_factory=list)  # every reasoning item, in order
    signature: str | None = None
    signed: bool = False  # a signature ended it: more reasoning starts a new block
    data: str = ""  # encrypted reasoning (REDACTED)
    upstream_id: str | None = None
    name: str | None = None
    ordinal: int = 0  # tool calls: 0 for the stream's first call, 1 for the next...
    arguments: str = ""  # tool calls: every fragment received (the end check judges what the upstream sent)
    complete: bool = False
    recheck: bool = False  # a "}" arrived since arguments were last parsed: they may be complete now
    # What an emitter keeps about the block while it is on the wire (its item, its text so far).
    wire: dict[str, Any] = field(default_factory=dict)


class Emitter(Protocol):
    """An API's events for a block's life: opened, each fragment, closed."""

    def opened(self, block: Block) -> list[Event]: ...

    def appended(self, block: Block, part: Part, value: str) -> list[Event]: ...

    def closed(self, block: Block) -> list[Event]: ...


def arguments_complete(text: str) -> bool:
    """Whether streamed arguments already form one JSON object (the call's block may close)."""
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _valid_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class Sequencer:
    """One choice's blocks. ``split_reasoning``: a signature ends a reasoning block and encrypted
    reasoning is a block of its own (Anthropic); otherwise all reasoning in a row is one block."""

    def __init__(self, emitter: Emitter, *, split_reasoning: bool = False) -> None:
        self._emitter = emitter
        self._split_reasoning = split_reasoning
        self._cur: Block | None = None
        self._pending: list[Block] = []
        self._calls: dict[Any, Block] = {}
        self._last_call_key: Any = None
        self._next_index = 0
        self._opened: list[Block] = []
        self.tools: list[Block] = []
        self.raw_usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.native_finish_reason: Any = None
        self.matched_stop: Any = None
        self.reasoning_format: str | None = None
        self.any_content = False

    # -- input ------------------------------------------------------------------------------------

    def feed(self, chunk: dict[str, Any]) -> tuple[list[Event], tuple[int, str] | None]:
        """Events for one chunk's first choice, and the fault it reports (an error object or
        ``finish_reason: "error"``), if any."""
        if isinstance(chunk.get("usage"), dict):  # an error chunk may carry what was charged
            self.raw_usage = chunk["usage"]
        err = chunk_error(chunk)
        if err is not None:
            return [], err
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return [], None
        return self.feed_choice(choices[0])

    def feed_choice(self, choice: dict[str, Any]) -> tuple[list[Event], tuple[int, str] | None]:
        out: list[Event] = []
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
                    self._tool(call, out)
        reason = choice.get("finish_reason")
        if not reason:
            return out, None
        self.finish_reason = reason if isinstance(reason, str) else str(reason)
        if choice.get("native_finish_reason") is not None:
            self.native_finish_reason = choice["native_finish_reason"]
        if choice.get("stop_reason") is not None:
            self.matched_stop = choice["stop_reason"]
        if reason == "error":
            return out, (502, "upstream reported an error while streaming")
        return out, None

    def drain(self) -> list[Event]:
        """Open and close every block still pending, in order: the stream is over."""
        out: list[Event] = []
        while self._pending:
            self._close(out)
            self._open(self._pending.pop(0), out)
        self._close(out)
        return out

    def interjection_index(self) -> int:
        """The wire index for a block the stream's owner puts in between (a gateway tool run): every block so far is
        closed first (the caller drains), and the next block opened comes after it."""
        index = self._next_index
        self._next_index += 1
        self.any_content = True
        return index

    def ending_fault(self) -> str | None:
        """Why a stream that ended here is broken, or None: it needs a finish reason, and every tool
        call's arguments must be complete JSON (unless the output was cut by ``length``)."""
        if self.finish_reason is None:
            return NO_FINISH_REASON
        if self.finish_reason != "length":
            for block in self.tools:
                if block.arguments.strip() and not _valid_json(block.arguments):
                    return "upstream ended the stream with incomplete tool call arguments"
        return None

    @property
    def open_blocks(self) -> list[Block]:
        """Blocks on the wire so far, current one included (in index order)."""
        return self._opened

    # -- content routing --------------------------------------------------------------------------

    def _live(self, kind: Kind) -> Block | None:
        """The current block if new content of ``kind`` may go straight to it."""
        cur = self._cur
        if cur is not None and cur.kind is kind and not self._pending and not cur.signed:
            return cur
        return None

    def _buffer(self, kind: Kind) -> Block:
        """The pending block that new content of ``kind`` joins (the last one, if it is of that kind)."""
        if self._pending:
            last = self._pending[-1]
            if last.kind is kind and not last.signed:
                return last
        return self._queue(Block(kind))

    def _queue(self, block: Block) -> Block:
        self._pending.append(block)
        self.any_content = True
        return block

    def _text(self, text: str, out: list[Event]) -> None:
        cur = self._live(Kind.TEXT)
        if cur is not None:
            out.extend(self._emitter.appended(cur, Part.TEXT, text))
            return
        self._buffer(Kind.TEXT).buffer.append(text)
        self._advance(out)

    def _reasoning(self, items: list[tuple[str, str]], out: list[Event]) -> None:
        for kind, value in items:
            if kind == ENCRYPTED and self._split_reasoning:
                self._queue(Block(Kind.REDACTED, data=value))
                self._advance(out)
                continue
            cur = self._live(Kind.REASONING)
            block = cur if cur is not None else self._buffer(Kind.REASONING)
            block.reasoning.append((kind, value))
            if kind == SIGNATURE and self._split_reasoning:
                block.signed = True
            if cur is not None:
                if kind == TEXT:
                    out.extend(self._emitter.appended(cur, Part.REASONING, value))
                elif kind == SIGNATURE:
                    out.extend(self._emitter.appended(cur, Part.SIGNATURE, value))
            elif kind == TEXT:
                block.buffer.append(value)
            elif kind == SIGNATURE:
                block.signature = value
            self._advance(out)

    def _tool(self, call: dict[str, Any], out: list[Event]) -> None:
        block, args = self._track(call)
        if args:
            block.arguments += args
            block.recheck = block.recheck or block.complete or "}" in args
            if block.state is State.OPEN:
                block.complete = False
                out.extend(self._emitter.appended(block, Part.ARGUMENTS, args))
            elif block.state is State.PENDING:
                block.buffer.append(args)
            # CLOSED: closed as a complete JSON object; trailing bytes can only be whitespace or garbage
            # (not sent on, but kept in ``arguments``: the end check sees them).
        self._advance(out)

    def _track(self, call: dict[str, Any]) -> tuple[Block, str | None]:
        """The block a ``tool_calls[]`` entry continues (a new one for a call not seen before), and its
        arguments fragment. A name or id that arrives late is filled in."""
        raw_id = call.get("id")
        call_id = raw_id if isinstance(raw_id, str) and raw_id else None
        key = call.get("index")
        if isinstance(key, bool) or not isinstance(key, int | str):  # missing or garbage
            key = call_id if call_id else self._last_call_key
        fn = raw_fn if isinstance(raw_fn := call.get("function"), dict) else {}
        name = fn.get("name") if isinstance(fn.get("name"), str) and fn.get("name") else None
        args = fn.get("arguments") if isinstance(fn.get("arguments"), str) else None
        block = self._calls.get(key)
        if block is not None and call_id and block.upstream_id and call_id != block.upstream_id:
            block = None  # the same index reused for a new call
        if block is None:
            block = Block(Kind.TOOL, upstream_id=call_id, name=name, ordinal=len(self.tools))
            self._calls[key] = block
            self.tools.append(block)
            self._queue(block)
        else:
            if name and not block.name:
                block.name = name
            if call_id and block.upstream_id is None and block.state is State.PENDING:
                block.upstream_id = call_id  # not announced yet: it is announced with its id
        self._last_call_key = key
        return block, args

    # -- block lifecycle --------------------------------------------------------------------------

    def _advance(self, out: list[Event]) -> None:
        """Open pending blocks in order while the current block is complete."""
        pending = self._pending
        while pending:
            cur = self._cur
            if cur is not None and cur.kind is Kind.TOOL and not cur.complete:
                # Parsed again only after a "}": an object cannot end without one (no quadratic re-parse
                # of a long argument string while other blocks wait).
                if not cur.recheck:
                    return
                cur.recheck = False
                if not arguments_complete(cur.arguments):
                    return
                cur.complete = True
            nxt = pending[0]
            if nxt.kind is Kind.TOOL and not nxt.name:
                return  # a tool call cannot be announced before its name is known
            pending.pop(0)
            self._close(out)
            self._open(nxt, out)

    def _open(self, block: Block, out: list[Event]) -> None:
        block.index = self._next_index
        self._next_index += 1
        block.state = State.OPEN
        self._cur = block
        self._opened.append(block)
        out.extend(self._emitter.opened(block))
        buffered = "".join(block.buffer)
        block.buffer.clear()
        if buffered:
            out.extend(self._emitter.appended(block, _BUFFERED_PART[block.kind], buffered))
        if block.signature:
            out.extend(self._emitter.appended(block, Part.SIGNATURE, block.signature))

    def _close(self, out: list[Event]) -> None:
        cur = self._cur
        if cur is None:
            return
        cur.state = State.CLOSED
        self._cur = None
        out.extend(self._emitter.closed(cur))

    def _note_format(self, details: Any) -> None:
        if self.reasoning_format is None and isinstance(details, list):
            for d in details:
                if isinstance(d, dict) and isinstance(d.get("format"), str) and d["format"]:
                    self.reasoning_format = d["format"]
                    return


class SequencedStream(ABC):
    """A translated stream's life, shared by the APIs' emitters: started once, fed chunk by chunk
    through its ``Sequencer``, ended once (``finish`` or ``fail``). Subclasses say what their API sends
    at each step (``_opening``, ``_closing``, ``_failure``) and for each block (the ``Emitter`` methods)."""

    def __init__(self, *, split_reasoning: bool = False) -> None:
        self._seq = Sequencer(self, split_reasoning=split_reasoning)
        self._started = False
        self.finished = False
        self.failed_status: int | None = None  # set when the stream ended with an error event
        self.runs: list[ToolRun] = []  # the gateway's tool runs shown so far (web search)
        self.annotations: list[Any] = []  # the upstream's own url_citation annotations (its web search)

    @property
    def usage(self) -> Usage:
        """The latest upstream usage seen (zeros before any)."""
        return usage_from_openai(self._seq.raw_usage)

    def ending_fault(self) -> str | None:
        return self._seq.ending_fault()

    def start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        return self._opening()

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        if self.finished:
            return []
        out = self.start()
        run = chunk.get(RUN_KEY)
        if isinstance(run, ToolRun):
            self.runs.append(run)
            return out + self._seq.drain() + self.ran(run)
        choices = chunk.get("choices")
        delta = (
            choices[0].get("delta") if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
        )
        if isinstance(delta, dict) and isinstance(delta.get("annotations"), list):
            self.annotations.extend(delta["annotations"])
        events, fault = self._seq.feed(chunk)
        out.extend(events)
        if fault is not None:
            out.extend(self.fail(*fault))
        return out

    def finish(self) -> list[Event]:
        """The clean end. A stream with neither content nor a finish reason is a failure (502)."""
        if self.finished:
            return []
        out = self.start()
        if self._seq.finish_reason is None and not self._seq.any_content:
            return out + self.fail(502, "upstream ended the stream without a response")
        out.extend(self._closing())
        self.finished = True
        return out

    def fail(self, status: int, message: str) -> list[Event]:
        if self.finished:
            return []
        self.finished = True
        self.failed_status = status
        return self._failure(status, message)

    def ran(self, run: ToolRun) -> list[Event]:
        """The API's events for a gateway tool run, in its place in the stream (none by default: chat completions
        shows runs only as the answer's annotations). Each block it adds takes ``_seq.interjection_index()``."""
        return []

    @abstractmethod
    def _opening(self) -> list[Event]: ...

    @abstractmethod
    def _closing(self) -> list[Event]:
        """Every block drained (``self._seq.drain()``) and the API's last events."""

    @abstractmethod
    def _failure(self, status: int, message: str) -> list[Event]: ...

    @abstractmethod
    def opened(self, block: Block) -> list[Event]: ...

    @abstractmethod
    def appended(self, block: Block, part: Part, value: str) -> list[Event]: ...

    @abstractmethod
    def closed(self, block: Block) -> list[Event]: ...
