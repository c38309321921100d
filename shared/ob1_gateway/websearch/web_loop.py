"""The model-driven loop of one request that offers the gateway's web tools: send the chat body upstream; while the
model calls only the gateway's tools, run them (``ToolRunner``), hand it the results, and send again; the round
where it answers (or also calls the caller's own tools) ends it. To the caller it is one request: the rounds'
usage is summed into the last answer.

Two shapes: ``run_whole`` (non-stream: every round whole) and ``LoopStream`` (stream: every round streamed, what
the model says relayed as it comes, the gateway's own calls kept out of it and each finished run put in its
place as ``{RUN_KEY: ToolRun}``, so the caller's translator shows it there).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..translate.web_tools import RUN_KEY, Step, ToolRun, WebTools
from ..upstream.client import ChatStream, UpstreamError, UpstreamStreamError
from .tool_runner import ToolRunner

__all__ = ["MAX_ROUNDS", "LoopAnswer", "LoopStream", "run_whole", "summed_usage"]

# Rounds one request may take; the last is sent with tool_choice "none", so the model must answer.
MAX_ROUNDS = 8

SendWhole = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
OpenStream = Callable[[dict[str, Any]], Awaitable[ChatStream]]


@dataclass
class LoopAnswer:
    """The steps in order and the final upstream answer (its message without the gateway's calls, its usage the
    sum of every round's)."""

    steps: list[Step] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> list[ToolRun]:
        return [run for step in self.steps for run in step.runs]


def with_web_functions(body: dict[str, Any], tools: WebTools) -> dict[str, Any]:
    """The body with the gateway's functions offered beside the caller's own tools."""
    return {**body, "tools": [*(body.get("tools") or []), *tools.functions()]}


def _round_body(body: dict[str, Any], extra: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """Round ``n``'s body: the rounds so far appended. A tool choice that forced a call held for the first round only
    (as Anthropic's does: the forced search is made, then the model answers); the last round must answer."""
    out = {**body, "messages": [*body["messages"], *extra]}
    if n == MAX_ROUNDS - 1:
        out["tool_choice"] = "none"
    elif n and (body.get("tool_choice") == "required" or isinstance(body.get("tool_choice"), dict)):
        out["tool_choice"] = "auto"
    return out


def _results(message: dict[str, Any], calls: list[dict[str, Any]], runs: list[ToolRun]) -> list[dict[str, Any]]:
    """The assistant turn that called the gateway's tools and one tool message per run, for the next round."""
    turn = {k: v for k, v in message.items() if k in ("role", "content", "reasoning_details", "reasoning")}
    turn["role"] = "assistant"
    turn["tool_calls"] = calls
    tool_messages = [
        {"role": "tool", "tool_call_id": call.get("id") or run.id, "content": run.for_model()}
        for call, run in zip(calls, runs, strict=True)
    ]
    return [turn, *tool_messages]


def _function_name(call: dict[str, Any]) -> str:
    fn = call.get("function")
    return str(fn.get("name") or "") if isinstance(fn, dict) else ""


async def run_whole(send: SendWhole, body: dict[str, Any], runner: ToolRunner) -> LoopAnswer:
    """The non-stream loop."""
    tools, answer = runner.tools, LoopAnswer()
    extra: list[dict[str, Any]] = []
    usages: list[Any] = []
    body = with_web_functions(body, tools)
    for n in range(MAX_ROUNDS):
        response = await send(_round_body(body, extra, n))
        usages.append(response.get("usage"))
        choices = response.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        message: dict[str, Any] = choice["message"] if isinstance(choice.get("message"), dict) else {}
        calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
        ours = [c for c in calls if tools.owns(_function_name(c))]
        if not ours:
            answer.final = response
            break
        runs = [await runner.run(_function_name(c), (c.get("function") or {}).get("arguments")) for c in ours]
        said = {k: v for k, v in message.items() if k != "tool_calls"}
        answer.steps.append(Step(said, runs))
        theirs = [c for c in calls if c not in ours]
        if theirs:  # the caller's tools too: the answer is their calls, the gateway's results shown before them
            final_message = {"role": "assistant", "content": None, "tool_calls": theirs}
            answer.final = {**response, "choices": [{**choice, "message": final_message}]}
            break
        extra += _results(message, ours, runs)
    answer.final["usage"] = summed_usage(usages)
    return answer


def summed_usage(usages: list[Any]) -> dict[str, Any]:
    """The rounds' usage objects as one (tokens and cost added; what is absent everywhere stays absent)."""
    total: dict[str, Any] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    details: dict[str, int] = {}
    cost: float | None = None
    for usage in usages:
        if not isinstance(usage, dict):
            continue
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            total[key] += _count(usage.get(key))
        inner = usage.get("prompt_tokens_details")
        for key in ("cached_tokens", "cache_write_tokens"):
            if isinstance(inner, dict) and key in inner:
                details[key] = details.get(key, 0) + _count(inner.get(key))
        if isinstance(usage.get("cost"), int | float) and not isinstance(usage.get("cost"), bool):
            cost = (cost or 0.0) + float(usage["cost"])
    if details:
        total["prompt_tokens_details"] = details
    if cost is not None:
        total["cost"] = cost
    return total


def _count(value: Any) -> int:
    return max(int(value), 0) if isinstance(value, int | float) and not isinstance(value, bool) else 0


class LoopStream:
    """The stream loop, offered to the relay as one upstream stream (``opening``, iteration, ``aclose``)."""

    def __init__(self, open_stream: OpenStream, body: dict[str, Any], runner: ToolRunner) -> None:
        self._open = open_stream
        self._body = with_web_functions(body, runner.tools)
        self._runner = runner
        self._round: ChatStream | None = None
        self._usages: list[Any] = []

    async def start(self, wait: float) -> None:
        """Open the first round and read ahead in it (``ChatStream.opening``: failures before any word are plain
        errors)."""
        self._round = await self._open(_round_body(self._body, [], 0))
        await self._round.opening(wait)

    def opened_usage(self) -> dict[str, Any] | None:
        return self._round.opened_usage() if self._round is not None else None

    async def aclose(self) -> None:
        if self._round is not None:
            await self._round.aclose()

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        extra: list[dict[str, Any]] = []
        for n in range(MAX_ROUNDS):
            if n:
                try:
                    self._round = await self._open(_round_body(self._body, extra, n))
                except UpstreamError as exc:  # after the first round it is a failure in the stream
                    raise UpstreamStreamError(exc.message, exc.status) from None
            watch = _RoundWatch(self._runner.tools)
            assert self._round is not None
            async for chunk in self._round:
                passed = watch.filter(chunk)
                if passed is not None:
                    yield passed
            await self._round.aclose()
            self._usages.extend(watch.usages)
            if not watch.ours:
                break
            runs = [await self._runner.run(name, args) for name, args in watch.our_calls()]
            for run in runs:
                yield {RUN_KEY: run}
            if watch.theirs:  # the caller's tools too: end as a tool-calls answer
                yield {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
                break
            extra += _results(watch.message(), watch.our_call_objects(), runs)
        yield {"choices": [], "usage": summed_usage(self._usages)}


class _RoundWatch:
    """One streamed round: the gateway's tool calls and the usage kept back, the rest passed on; what the model
    said is kept to send back in the next round."""

    def __init__(self, tools: WebTools) -> None:
        self._tools = tools
        self._keys: dict[Any, bool] = {}  # tool call key -> the gateway's
        self._last_key: Any = None
        self.ours: dict[Any, dict[str, Any]] = {}  # key -> {"id", "name", "arguments"}
        self.theirs = False
        self.usages: list[Any] = []
        self._text: list[str] = []
        self._reasoning: list[dict[str, Any]] = []
        self.finish_reason: Any = None

    def filter(self, chunk: dict[str, Any]) -> dict[str, Any] | None:
        if isinstance(chunk.get("usage"), dict):
            self.usages.append(chunk["usage"])
            chunk = {k: v for k, v in chunk.items() if k != "usage"}
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return chunk if "error" in chunk else None
        choice = dict(choices[0])
        delta = choice.get("delta")
        if isinstance(delta, dict):
            delta = self._delta(delta)
            choice["delta"] = delta
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
            if self.ours:  # the round goes on after the gateway's calls are run
                choice["finish_reason"] = None
                choice.pop("native_finish_reason", None)
        return {**chunk, "choices": [choice, *choices[1:]]}

    def _delta(self, delta: dict[str, Any]) -> dict[str, Any]:
        if isinstance(delta.get("content"), str):
            self._text.append(delta["content"])
        details = delta.get("reasoning_details")
        if isinstance(details, list):
            self._reasoning.extend(d for d in details if isinstance(d, dict))
        calls = delta.get("tool_calls")
        if not isinstance(calls, list):
            return delta
        kept = []
        for call in calls:
            if not isinstance(call, dict):
                continue
            call_id = call.get("id") if isinstance(call.get("id"), str) else None
            key = call.get("index") if isinstance(call.get("index"), int) else call_id or self._last_key
            name = _function_name(call)
            if key not in self._keys or (call.get("id") and name):
                self._keys[key] = self._tools.owns(name)
                if self._keys[key]:
                    self.ours[key] = {"id": call.get("id") or "", "name": name, "arguments": ""}
                else:
                    self.theirs = True
            self._last_key = key
            if self._keys[key]:
                fn = call.get("function")
                arguments = fn.get("arguments") if isinstance(fn, dict) else None
                if isinstance(arguments, str):
                    self.ours[key]["arguments"] += arguments
            else:
                kept.append(call)
        out = {k: v for k, v in delta.items() if k != "tool_calls"}
        if kept:
            out["tool_calls"] = kept
        return out

    def our_calls(self) -> list[tuple[str, str]]:
        return [(call["name"], call["arguments"]) for call in self.ours.values()]

    def our_call_objects(self) -> list[dict[str, Any]]:
        return [
            {
                "id": call["id"] or f"call_{n}",
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
            for n, call in enumerate(self.ours.values())
        ]

    def message(self) -> dict[str, Any]:
        """What the model said in this round, as an assistant message (reasoning fragments joined per entry)."""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self._text) or None}
        if self._reasoning:
            message["reasoning_details"] = _joined(self._reasoning)
        return message


def _joined(fragments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Streamed reasoning_details fragments as whole entries: fragments of one entry (same type and index) have
    their text, summary, data and signature concatenated."""
    entries: dict[tuple[Any, Any], dict[str, Any]] = {}
    for fragment in fragments:
        key = (fragment.get("type"), fragment.get("index", 0))
        entry = entries.get(key)
        if entry is None:
            entries[key] = dict(fragment)
            continue
        for part in ("text", "summary", "data", "signature"):
            if isinstance(fragment.get(part), str):
                entry[part] = (entry.get(part) or "") + fragment[part]
    return list(entries.values())
