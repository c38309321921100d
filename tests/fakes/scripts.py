"""Scripted OB-1 (OpenRouter-shaped) responses for ``fake.enqueue(...)``.

A *streaming script* is a list whose items are sent in order:

- ``dict``  -> one ``data: {json}`` event (a chat.completion.chunk, or an ``{"error": ...}`` chunk);
- ``str``   -> written verbatim (``"\\n\\n"`` appended unless it already ends in a newline), e.g. an
  SSE comment such as ``": OPENROUTER PROCESSING"`` or ``DONE``;
- ``int``/``float`` -> sleep that many seconds before the next item;
- ``disconnect()`` -> drop the connection mid-stream.

A *non-stream script* is a plain ``dict`` (the JSON body of a 200 response). ``http_error(...)`` is a
whole-response script for either mode (status + OpenRouter error body, sent before any byte).
Everything is JSON-serialisable so scripts can also be enqueued over ``POST /_admin/enqueue``.
"""

from __future__ import annotations

import json
from typing import Any

DONE = "data: [DONE]"
PROCESSING = ": OPENROUTER PROCESSING"
DEFAULT_MODEL = "anthropic/claude-sonnet-4.5"
GEN_ID = "gen-fake-0001"
CREATED = 1_760_000_000

ScriptItem = dict[str, Any] | str | int | float
Script = list[ScriptItem] | dict[str, Any]


def disconnect() -> dict[str, Any]:
    """Abort the connection at this point of the stream (after the earlier items were sent)."""
    return {"_fake": "disconnect"}


def http_error(status: int, message: str = "", *, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A whole-response error with OpenRouter's body ``{"error": {"message", "code"}}``."""
    return {
        "_fake": "error",
        "status": status,
        "body": {"error": {"message": message or f"fake upstream error {status}", "code": status}},
        "headers": headers or {},
    }


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish_reason: str | None = None,
    native_finish_reason: str | None = None,
    model: str = DEFAULT_MODEL,
    usage: dict[str, Any] | None = None,
    choices: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One chat.completion.chunk as OpenRouter sends it (with ``provider`` and ``native_finish_reason``)."""
    if choices is None:
        choices = [
            {
                "index": 0,
                "delta": delta if delta is not None else {},
                "finish_reason": finish_reason,
                "native_finish_reason": native_finish_reason,
                "logprobs": None,
            }
        ]
    out: dict[str, Any] = {
        "id": GEN_ID,
        "provider": provider_for(model),
        "model": model,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "choices": choices,
    }
    if usage is not None:
        out["usage"] = usage
    return out


def provider_for(model: str) -> str:
    return {"anthropic": "Anthropic", "openai": "OpenAI", "google": "Google"}.get(model.split("/")[0], "Fake")


def usage(
    prompt_tokens: int = 20,
    completion_tokens: int = 10,
    *,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
    cost: float | None = 0.000210,
) -> dict[str, Any]:
    """OpenRouter's usage object; ``cache_write_tokens`` appears both top-level and in the details."""
    out: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    if cache_write_tokens:
        out["cache_write_tokens"] = cache_write_tokens
        out["prompt_tokens_details"]["cache_write_tokens"] = cache_write_tokens
    if cost is not None:
        out["cost"] = cost
        out["is_byok"] = False
    return out


def usage_chunk(model: str = DEFAULT_MODEL, **kwargs: Any) -> dict[str, Any]:
    """The trailing chunk with ``choices: []`` that carries usage (and ``cost``)."""
    return chunk(choices=[], usage=usage(**kwargs), model=model)


def role_chunk(model: str = DEFAULT_MODEL) -> dict[str, Any]:
    return chunk({"role": "assistant", "content": ""}, model=model)


def split(text: str, parts: int = 4) -> list[str]:
    """Split text into ``parts`` non-empty pieces (fewer if the text is short)."""
    if not text:
        return []
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)]


def text_stream(
    text: str = "Hello from the fake upstream.",
    *,
    model: str = DEFAULT_MODEL,
    parts: int = 4,
    finish_reason: str = "stop",
    native_finish_reason: str = "end_turn",
    **usage_kwargs: Any,
) -> list[ScriptItem]:
    """The plain OpenRouter text stream: comment, role chunk, deltas, finish, usage, [DONE]."""
    return [
        PROCESSING,
        role_chunk(model),
        *[chunk({"role": "assistant", "content": piece}, model=model) for piece in split(text, parts)],
        chunk(
            {"role": "assistant", "content": ""},
            finish_reason=finish_reason,
            native_finish_reason=native_finish_reason,
            model=model,
        ),
        usage_chunk(model, **usage_kwargs),
        DONE,
    ]


def keepalive_mid_stream(text: str = "slow and steady", *, pause: float = 0.05) -> list[ScriptItem]:
    """Text with ``: OPENROUTER PROCESSING`` keep-alive comments (and short pauses) between deltas."""
    pieces = split(text, 3)
    items: list[ScriptItem] = [PROCESSING, role_chunk()]
    for piece in pieces:
        items += [pause, PROCESSING, chunk({"role": "assistant", "content": piece})]
    items += [
        PROCESSING,
        chunk({"role": "assistant", "content": ""}, finish_reason="stop", native_finish_reason="end_turn"),
        usage_chunk(),
        DONE,
    ]
    return items


REASONING_SIGNATURE = "ErUBCkYIBxgCIkDfakeSignatureForTests=="


def reasoning(
    thinking: str = "Let me think about this step by step.",
    answer: str = "The answer is 42.",
    *,
    signature: str = REASONING_SIGNATURE,
    model: str = DEFAULT_MODEL,
) -> list[ScriptItem]:
    """Reasoning deltas (``delta.reasoning`` + ``reasoning_details``), a signature, then the text answer."""
    fmt = "anthropic-claude-v1"
    items: list[ScriptItem] = [PROCESSING, role_chunk(model)]
    for piece in split(thinking, 3):
        items.append(
            chunk(
                {
                    "role": "assistant",
                    "content": "",
                    "reasoning": piece,
                    "reasoning_details": [{"type": "reasoning.text", "text": piece, "format": fmt, "index": 0}],
                },
                model=model,
            )
        )
    items.append(
        chunk(
            {
                "role": "assistant",
                "content": "",
                "reasoning": "",
                "reasoning_details": [
                    {"type": "reasoning.text", "text": "", "signature": signature, "format": fmt, "index": 0}
                ],
            },
            model=model,
        )
    )
    items += [chunk({"role": "assistant", "content": p}, model=model) for p in split(answer, 2)]
    items += [
        chunk(
            {"role": "assistant", "content": ""},
            finish_reason="stop",
            native_finish_reason="end_turn",
            model=model,
        ),
        usage_chunk(model, prompt_tokens=30, completion_tokens=25, cost=0.000465),
        DONE,
    ]
    return items


def _tool_delta(index: int, *, id: str | None = None, name: str | None = None, args: str = "") -> dict:
    call: dict[str, Any] = {"index": index, "type": "function", "function": {"arguments": args}}
    if id is not None:
        call["id"] = id
    if name is not None:
        call["function"]["name"] = name
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def parallel_tool_calls(
    first: tuple[str, dict[str, Any]] = ("get_weather", {"city": "Paris", "unit": "celsius"}),
    second: tuple[str, dict[str, Any]] = ("get_time", {"timezone": "Europe/Paris"}),
) -> list[ScriptItem]:
    """Two tool calls (indexes 0 and 1) whose argument fragments arrive interleaved."""
    a_args, b_args = split(json.dumps(first[1]), 3), split(json.dumps(second[1]), 3)
    items: list[ScriptItem] = [
        PROCESSING,
        role_chunk(),
        chunk({"role": "assistant", "content": "Checking both."}),
        chunk(_tool_delta(0, id="toolu_fake_A", name=first[0])),
        chunk(_tool_delta(1, id="toolu_fake_B", name=second[0])),
    ]
    for i in range(max(len(a_args), len(b_args))):
        if i < len(a_args):
            items.append(chunk(_tool_delta(0, args=a_args[i])))
        if i < len(b_args):
            items.append(chunk(_tool_delta(1, args=b_args[i])))
    items += [
        chunk({"role": "assistant", "content": ""}, finish_reason="tool_calls", native_finish_reason="tool_use"),
        usage_chunk(prompt_tokens=50, completion_tokens=40, cost=0.00075),
        DONE,
    ]
    return items


def reused_index_tool_calls(
    first: tuple[str, dict[str, Any]] = ("get_weather", {"city": "Paris"}),
    second: tuple[str, dict[str, Any]] = ("get_time", {"timezone": "Europe/Paris"}),
) -> list[ScriptItem]:
    """Two sequential tool calls that both use ``tool_calls[].index`` 0, told apart only by their ids (as
    some OpenAI-compatible providers send them)."""
    items: list[ScriptItem] = [PROCESSING, role_chunk()]
    for call_id, (name, args) in (("toolu_fake_R1", first), ("toolu_fake_R2", second)):
        parts = split(json.dumps(args), 2)
        items.append(chunk(_tool_delta(0, id=call_id, name=name, args=parts[0])))
        items += [chunk(_tool_delta(0, args=part)) for part in parts[1:]]
    items += [
        chunk({"role": "assistant", "content": ""}, finish_reason="tool_calls", native_finish_reason="tool_use"),
        usage_chunk(prompt_tokens=45, completion_tokens=20, cost=0.0004),
        DONE,
    ]
    return items


def tool_call_one_chunk(name: str = "get_weather", args: dict[str, Any] | None = None) -> list[ScriptItem]:
    """A tool call whose id, name and complete arguments arrive in a single chunk."""
    arguments = json.dumps(args if args is not None else {"city": "Berlin"})
    return [
        PROCESSING,
        role_chunk(),
        chunk(_tool_delta(0, id="toolu_fake_one", name=name, args=arguments)),
        chunk({"role": "assistant", "content": ""}, finish_reason="tool_calls", native_finish_reason="tool_use"),
        usage_chunk(prompt_tokens=40, completion_tokens=12, cost=0.0003),
        DONE,
    ]


def text_after_tool_call(
    name: str = "get_weather", args: dict[str, Any] | None = None, text: str = "Done calling."
) -> list[ScriptItem]:
    """A tool call followed by more text deltas (the text must not land at the tool's index)."""
    arguments = json.dumps(args if args is not None else {"city": "Rome"})
    return [
        PROCESSING,
        role_chunk(),
        chunk(_tool_delta(0, id="toolu_fake_then_text", name=name)),
        *[chunk(_tool_delta(0, args=p)) for p in split(arguments, 2)],
        *[chunk({"role": "assistant", "content": p}) for p in split(text, 2)],
        chunk({"role": "assistant", "content": ""}, finish_reason="tool_calls", native_finish_reason="tool_use"),
        usage_chunk(prompt_tokens=44, completion_tokens=20, cost=0.000432),
        DONE,
    ]


def usage_with_cost(text: str = "Costed.", cost: float = 0.0123) -> list[ScriptItem]:
    """A text stream whose usage arrives alone in a ``choices: []`` chunk carrying ``usage.cost``."""
    return text_stream(text, prompt_tokens=1000, completion_tokens=200, cost=cost)


def cache_tokens(
    text: str = "Cached.", *, cached: int = 1500, written: int = 500, prompt: int = 2100
) -> list[ScriptItem]:
    """Usage with cache reads (``prompt_tokens_details.cached_tokens``) and ``cache_write_tokens``."""
    return text_stream(
        text,
        prompt_tokens=prompt,
        completion_tokens=10,
        cached_tokens=cached,
        cache_write_tokens=written,
        cost=0.002,
    )


def error_mid_stream(text: str = "partial", message: str = "Provider returned error") -> list[ScriptItem]:
    """Some text, then an OpenRouter in-stream error chunk, then [DONE]."""
    return [
        PROCESSING,
        role_chunk(),
        chunk({"role": "assistant", "content": text}),
        {"error": {"message": message, "code": 502}},
        DONE,
    ]


def completion(
    text: str | None = "Hello from the fake upstream.",
    *,
    model: str = DEFAULT_MODEL,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    reasoning_text: str | None = None,
    **usage_kwargs: Any,
) -> dict[str, Any]:
    """A non-stream chat.completion body (OpenRouter shape, usage with cost)."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text,
        "refusal": None,
        "reasoning": reasoning_text,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    native = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}.get(finish_reason)
    return {
        "id": GEN_ID,
        "provider": provider_for(model),
        "model": model,
        "object": "chat.completion",
        "created": CREATED,
        "choices": [
            {
                "index": 0,
                "logprobs": None,
                "finish_reason": finish_reason,
                "native_finish_reason": native,
                "message": message,
            }
        ],
        "usage": usage(**usage_kwargs),
    }


NAMED: dict[str, Any] = {
    "text": text_stream,
    "keepalive": keepalive_mid_stream,
    "reasoning": reasoning,
    "parallel_tool_calls": parallel_tool_calls,
    "tool_call_one_chunk": tool_call_one_chunk,
    "text_after_tool_call": text_after_tool_call,
    "usage_with_cost": usage_with_cost,
    "cache_tokens": cache_tokens,
    "error_mid_stream": error_mid_stream,
}
"""Built-in scripts by name (for the CLI / cross-process use: ``POST /_admin/enqueue {"named": ...}``)."""
