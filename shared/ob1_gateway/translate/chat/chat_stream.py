"""Chat completions streamed to an OpenAI caller: the upstream's chunks as they are, so the route can use
the one relay the translated APIs use. The shared ``Sequencer`` (one per choice, emitting nothing) still
follows every tool call and finish reason, so a pass-through stream is judged complete by the same rule
as a translated one. Usage needs care too: the gateway always asks the upstream for it (to meter), and
the caller sees the usage-only chunk only if it asked for it. The gateway's web searches (``web_search_options``)
are not shown as they run; the citations of their results come as an ``annotations`` delta just before the
finishing chunk."""

from __future__ import annotations

from typing import Any

from ..answers.sequencer import NO_FINISH_REASON, Block, Part, Sequencer
from ..error_bodies import openai_error_body
from ..sse import Event
from ..token_usage import Usage, usage_from_openai
from ..upstream_refusals import CONTEXT_LENGTH_EXCEEDED, context_overflow
from ..web_tools import RUN_KEY, ToolRun
from .chat_citations import url_annotations

__all__ = ["ChatPassthrough"]

_DONE: Event = (None, "[DONE]")


class _Silent:
    """The pass-through's emitter: the chunk itself is what the caller gets."""

    def opened(self, block: Block) -> list[Event]:
        return []

    def appended(self, block: Block, part: Part, value: str) -> list[Event]:
        return []

    def closed(self, block: Block) -> list[Event]:
        return []


_SILENT = _Silent()


class ChatPassthrough:
    """A ``StreamTranslator`` that changes nothing but the usage a caller did not ask for."""

    def __init__(self, *, client_wants_usage: bool, model: str | None = None) -> None:
        self._client_wants_usage = client_wants_usage
        self._model = model  # the name the client asked for, echoed in each chunk as every route echoes it
        self._usage = Usage()
        self._choices: dict[Any, Sequencer] = {}
        self.finished = False
        self.failed_status: int | None = None
        self._runs: list[ToolRun] = []  # the gateway's web searches, whose citations the answer gets
        self._text: list[str] = []  # the first choice's text, kept only once a search ran

    @property
    def usage(self) -> Usage:
        return self._usage

    def ending_fault(self) -> str | None:
        if not self._choices:
            return NO_FINISH_REASON
        return next((f for f in (s.ending_fault() for s in self._choices.values()) if f), None)

    def start(self) -> list[Event]:
        return []

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        if self.finished:
            return []
        run = chunk.get(RUN_KEY)
        if isinstance(run, ToolRun):
            self._runs.append(run)
            return []
        if chunk.get("usage"):  # even on the chunk that reports a failure: it is what was charged
            self._usage = usage_from_openai(chunk["usage"])
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict):
                index = choice.get("index")
                key = index if isinstance(index, int | str) else 0
                seq = self._choices.get(key)
                if seq is None:  # built once per choice, not once per chunk
                    seq = self._choices[key] = Sequencer(_SILENT)
                _, fault = seq.feed_choice(choice)
                if fault is not None:
                    return self.fail(*fault)
        if chunk.get("usage") and not self._client_wants_usage:
            if not chunk.get("choices"):
                return []
            chunk = {k: v for k, v in chunk.items() if k != "usage"}
        if self._model is not None and "model" in chunk:
            chunk["model"] = self._model
        return [*self._annotations(chunk), (None, chunk)] if self._runs else [(None, chunk)]

    def _annotations(self, chunk: dict[str, Any]) -> list[Event]:
        """Before the chunk that finishes the first choice, the citations of its text as an ``annotations`` delta."""
        choices = chunk.get("choices")
        first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        delta = first.get("delta")
        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
            self._text.append(delta["content"])
        annotations = url_annotations("".join(self._text), self._runs) if first.get("finish_reason") else []
        if not annotations:
            return []
        note = {k: v for k, v in chunk.items() if k in ("id", "object", "created", "model")}
        note["choices"] = [
            {"index": first.get("index", 0), "delta": {"annotations": annotations}, "finish_reason": None}
        ]
        return [(None, note)]

    def finish(self) -> list[Event]:
        if self.finished:
            return []
        self.finished = True
        return [_DONE]

    def fail(self, status: int, message: str) -> list[Event]:
        """OpenAI's in-stream error: an error chunk and no ``[DONE]``."""
        if self.finished:
            return []
        self.finished = True
        self.failed_status = status
        code = CONTEXT_LENGTH_EXCEEDED if context_overflow(message) else None
        return [(None, openai_error_body(status, message, code=code))]
