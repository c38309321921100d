"""finish_reason -> Anthropic stop_reason, shared by the non-stream and stream paths.

Precedence: ``length`` -> max_tokens; ``content_filter`` (or native ``refusal``) -> refusal; any tool
call emitted (even when finish_reason says ``stop``) or ``tool_calls`` -> tool_use; a stop sequence ->
stop_sequence; everything else (``stop``, missing, unknown) -> end_turn.

A stop sequence is recognised from the choice's ``stop_reason`` when it equals one of the request's
stop sequences (vLLM/OpenRouter style), or from ``native_finish_reason == "stop_sequence"`` (Anthropic
via OpenRouter); in the latter case the string is the request's only stop sequence if it gave exactly
one, else null (it cannot be recovered: the matched text is not part of the output).
"""

from __future__ import annotations

from typing import Any

__all__ = ["stop_reason_for"]


def stop_reason_for(
    finish_reason: Any,
    *,
    native: Any = None,
    matched: Any = None,
    stop_sequences: list[str] | tuple[str, ...] = (),
    had_tool_calls: bool = False,
) -> tuple[str, str | None]:
    if finish_reason == "length":
        return "max_tokens", None
    if finish_reason == "content_filter" or native == "refusal":
        return "refusal", None
    if had_tool_calls or finish_reason in ("tool_calls", "function_call"):
        return "tool_use", None
    if isinstance(matched, str) and matched in stop_sequences:
        return "stop_sequence", matched
    if native == "stop_sequence":
        if isinstance(matched, str) and matched:
            return "stop_sequence", matched
        return "stop_sequence", stop_sequences[0] if len(stop_sequences) == 1 else None
    return "end_turn", None
