"""Stream translator throughput, no network: events per second on one core (process CPU time).

The chunk sequence is what a Claude model behind OpenRouter sends for a tool-using turn: reasoning
deltas (text, then a signature), ~1,000 text deltas, two tool calls whose argument fragments stream
separately, a finish chunk and a usage-only chunk.

- ``translate``: ``AnthropicStream.start/feed/finish`` over parsed chunk dicts (the pure state machine);
- ``pipeline``: the same stream as raw upstream SSE bytes split into 1,400-byte reads → ``SSEDecoder``
  → ``json.loads`` → ``AnthropicStream.feed`` → ``encode_sse`` (what the gateway does per stream);
- ``request``: the largest recorded Claude Code request (tests/fixtures/clients) through the request
  contract alone (``schema.validate``) and through the whole ``anthropic_to_chat`` (contract included):
  microseconds of CPU per request.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ob1_gateway.translate.anthropic.anthropic_in import anthropic_to_chat
from ob1_gateway.translate.anthropic.anthropic_stream import AnthropicStream
from ob1_gateway.translate.schema import AnthropicMessagesRequest, validate
from ob1_gateway.translate.sse import SSEDecoder, encode_sse

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "clients"

_BASE = {
    "id": "gen-1",
    "object": "chat.completion.chunk",
    "created": 1_700_000_000,
    "model": "anthropic/claude-sonnet-4.5",
    "provider": "Anthropic",
}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        **_BASE,
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", **delta},
                "finish_reason": finish,
                "native_finish_reason": finish,
            }
        ],
    }


def realistic_chunks(text_deltas: int = 1000) -> list[dict[str, Any]]:
    words = "The quick brown fox jumps over the lazy dog while the gateway translates".split()  # noqa: SIM905
    chunks = [_chunk({"content": ""})]
    for i in range(60):
        piece = " " + words[i % len(words)]
        chunks.append(
            _chunk({"reasoning": piece, "reasoning_details": [{"type": "reasoning.text", "text": piece, "index": 0}]})
        )
    chunks.append(
        _chunk({"reasoning_details": [{"type": "reasoning.text", "text": "", "signature": "c2ln" * 40, "index": 0}]})
    )
    for i in range(text_deltas):
        chunks.append(_chunk({"content": " " + words[i % len(words)]}))
    for index, (call_id, name) in enumerate((("toolu_01", "read_file"), ("toolu_02", "grep"))):
        chunks.append(
            _chunk(
                {
                    "tool_calls": [
                        {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
                    ]
                }
            )
        )
        for fragment in ('{"pa', 'th": "src/', "app", '.py", "li', 'mit": 200', "}"):
            chunks.append(_chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}))
    chunks.append(_chunk({}, finish="tool_calls"))
    chunks.append(
        {
            **_BASE,
            "choices": [],
            "usage": {
                "prompt_tokens": 1200,
                "completion_tokens": 1100,
                "total_tokens": 2300,
                "prompt_tokens_details": {"cached_tokens": 1000},
                "cost": 0.02,
            },
        }
    )
    return chunks


def _plan() -> Any:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [
            {"name": "read_file", "input_schema": {"type": "object"}},
            {"name": "grep", "input_schema": {"type": "object"}},
        ],
    }
    return anthropic_to_chat(body, upstream_model="anthropic/claude-sonnet-4.5")


def sse_bytes(chunks: list[dict[str, Any]]) -> bytes:
    parts = [b": OPENROUTER PROCESSING\n\n"]
    parts += [b"data: " + json.dumps(c, separators=(",", ":")).encode() + b"\n\n" for c in chunks]
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def translate_once(plan: Any, chunks: list[dict[str, Any]]) -> int:
    stream = AnthropicStream(plan, message_id="msg_bench", input_tokens_estimate=100)
    events = len(stream.start())
    for chunk in chunks:
        events += len(stream.feed(chunk))
    return events + len(stream.finish())


def pipeline_once(plan: Any, reads: list[bytes]) -> int:
    stream = AnthropicStream(plan, message_id="msg_bench", input_tokens_estimate=100)
    decoder = SSEDecoder()
    out = [encode_sse(name, data) for name, data in stream.start()]
    for raw in reads:
        for event in decoder.feed(raw):
            if event.data == "[DONE]":
                break
            for name, data in stream.feed(json.loads(event.data)):
                out.append(encode_sse(name, data))
    out.extend(encode_sse(name, data) for name, data in stream.finish())
    return len(out)


def _rate(fn: Any, min_seconds: float) -> tuple[float, int]:
    """Events per CPU-second of ``fn()`` (which returns its event count), repeated for ``min_seconds``."""
    fn()  # warm up
    events = 0
    start = time.process_time()
    while True:
        events += fn()
        elapsed = time.process_time() - start
        if elapsed >= min_seconds:
            return events / elapsed, events


def largest_claude_code_request() -> dict[str, Any]:
    bodies = [
        r["body"]
        for path in sorted(FIXTURES.glob("claude-code-*.json"))
        for r in json.loads(path.read_text())["requests"]
        if r["path"] == "/v1/messages"
    ]
    return max(bodies, key=lambda b: len(json.dumps(b)))


def _microseconds(fn: Any, min_seconds: float) -> float:
    rate, _ = _rate(lambda: (fn(), 1)[1], min_seconds)
    return 1e6 / rate


def measure(min_seconds: float = 1.0) -> dict[str, float]:
    plan = _plan()
    chunks = realistic_chunks()
    raw = sse_bytes(chunks)
    reads = [raw[i : i + 1400] for i in range(0, len(raw), 1400)]
    translate_rate, _ = _rate(lambda: translate_once(plan, chunks), min_seconds)
    pipeline_rate, _ = _rate(lambda: pipeline_once(plan, reads), min_seconds)
    body = largest_claude_code_request()
    return {
        "request_bytes": float(len(json.dumps(body))),
        "validate_us": _microseconds(lambda: validate(AnthropicMessagesRequest, body), min_seconds / 2),
        "translate_request_us": _microseconds(
            lambda: anthropic_to_chat(body, upstream_model="anthropic/claude-sonnet-4.5"), min_seconds / 2
        ),
        "translate_eps": translate_rate,
        "pipeline_eps": pipeline_rate,
        "events_per_stream": float(translate_once(plan, chunks)),
        "chunks_per_stream": float(len(chunks)),
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
