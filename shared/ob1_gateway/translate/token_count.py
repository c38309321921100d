"""Heuristic token estimates for ``/v1/messages/count_tokens`` and ``message_start``, and for the usage
record of a stream the client left before the upstream reported its usage (metering/meter.py).

No tokenizer can be shipped, so the count is documented arithmetic (about 4 characters per token for
English and code):

- every string of text (system blocks, text blocks, tool_result text, thinking, plain-text documents)
  costs ``ceil(len(text) / 4)``;
- each message costs 4 tokens of framing, plus 3 for the whole request;
- each tool costs 8 tokens plus ``ceil(len(name + description + json(input_schema)) / 4)``;
  a tool_use block costs 4 plus ``ceil(len(name + json(input)) / 4)``; a tool_result 4 plus its content;
- an image costs ``ceil(width * height / 750)`` (Anthropic's published formula) after scaling it to fit
  1568 px on the long side, when the dimensions can be read from base64 PNG/GIF/JPEG/WebP headers;
  otherwise (URL images, unknown formats) a fixed 1600;
- a PDF document costs a fixed 1500 plus ``ceil(decoded bytes / 200)``.

``estimate_chat_tokens`` applies the same arithmetic to an upstream chat-completions body (what the
Responses API's ``input_tokens`` translates to): text parts and ``image_url`` images (a ``data:`` URL is
read like a base64 source), each tool call 4 plus its name and arguments. ``estimate_output_tokens`` counts
generated text the same 4 characters a token, and ``streamed_chars`` is how much of it one upstream chunk
carries.

Every term is non-negative and added, so the estimate grows monotonically with content. Malformed
input never raises: unknown shapes are simply not counted.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from typing import Any

__all__ = ["estimate_chat_tokens", "estimate_input_tokens", "estimate_output_tokens", "image_tokens", "streamed_chars"]

_REQUEST_OVERHEAD = 3
_MESSAGE_OVERHEAD = 4
_TOOL_OVERHEAD = 8
_BLOCK_OVERHEAD = 4
_IMAGE_DEFAULT = 1600
_IMAGE_MAX_EDGE = 1568
_PDF_BASE = 1500


def _text_tokens(text: str) -> int:
    return -(-len(text) // 4)


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        return ""


def _image_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
        if chunk == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return w & 0x3FFF, h & 0x3FFF
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return w, h
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 2 if marker != 0xFF else 1
                continue
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def image_tokens(source: Any) -> int:
    """Tokens for one image ``source`` (see module docstring)."""
    if not isinstance(source, dict) or source.get("type") != "base64" or not isinstance(source.get("data"), str):
        return _IMAGE_DEFAULT
    try:
        raw = base64.b64decode(source["data"], validate=False)
    except (binascii.Error, ValueError):
        return _IMAGE_DEFAULT
    size = _image_size(raw)
    if size is None or size[0] <= 0 or size[1] <= 0:
        return _IMAGE_DEFAULT
    w, h = size
    scale = min(1.0, _IMAGE_MAX_EDGE / max(w, h))
    return max(1, -(-int(w * scale) * int(h * scale) // 750))


def _document_tokens(block: dict[str, Any]) -> int:
    source = block.get("source")
    if not isinstance(source, dict):
        return 0
    title = block.get("title")
    extra = _text_tokens(title) if isinstance(title, str) else 0
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        return extra + _text_tokens(source["data"])
    data = source.get("data")
    size = len(data) * 3 // 4 if isinstance(data, str) else 0
    return extra + _PDF_BASE + -(-size // 200)


def _block_tokens(block: Any) -> int:
    if isinstance(block, str):
        return _text_tokens(block)
    if not isinstance(block, dict):
        return 0
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return _text_tokens(text) if isinstance(text, str) else 0
    if kind == "image":
        return image_tokens(block.get("source"))
    if kind == "document":
        return _document_tokens(block)
    if kind == "thinking":
        text = block.get("thinking")
        return _text_tokens(text) if isinstance(text, str) else 0
    if kind == "redacted_thinking":
        data = block.get("data")
        return _text_tokens(data) if isinstance(data, str) else 0
    if kind == "tool_use":
        name = raw_name if isinstance(raw_name := block.get("name"), str) else ""
        return _BLOCK_OVERHEAD + _text_tokens(name + _dumps(block.get("input") or {}))
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return _BLOCK_OVERHEAD + sum(_block_tokens(b) for b in content)
        return _BLOCK_OVERHEAD + (_text_tokens(content) if isinstance(content, str) else 0)
    return 0


def _content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return _text_tokens(content)
    if isinstance(content, list):
        return sum(_block_tokens(b) for b in content)
    return 0


def estimate_input_tokens(req: dict[str, Any]) -> int:
    if not isinstance(req, dict):
        return 0
    total = _REQUEST_OVERHEAD + _content_tokens(req.get("system"))
    tools = req.get("tools")
    if isinstance(tools, list):
        for tool in tools:
            if not isinstance(tool, dict):
                continue
            text = "".join(v for v in (tool.get("name"), tool.get("description")) if isinstance(v, str)) + _dumps(
                tool.get("input_schema") or {}
            )
            total += _TOOL_OVERHEAD + _text_tokens(text)
    messages = req.get("messages")
    if isinstance(messages, list):
        for msg in messages:
            if isinstance(msg, dict):
                total += _MESSAGE_OVERHEAD + _content_tokens(msg.get("content"))
    return total


def _chat_part_tokens(part: Any) -> int:
    if isinstance(part, dict) and part.get("type") == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else None
        if isinstance(url, str) and url.startswith("data:") and ";base64," in url:
            return image_tokens({"type": "base64", "data": url.split(";base64,", 1)[1]})
        return _IMAGE_DEFAULT
    return _block_tokens(part)


def estimate_chat_tokens(body: dict[str, Any]) -> int:
    """The estimate for an upstream chat-completions body (see the module docstring)."""
    total = _REQUEST_OVERHEAD
    for tool in body.get("tools") or ():
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict):
            text = "".join(v for v in (fn.get("name"), fn.get("description")) if isinstance(v, str))
            total += _TOOL_OVERHEAD + _text_tokens(text + _dumps(fn.get("parameters") or {}))
    for msg in body.get("messages") or ():
        if not isinstance(msg, dict):
            continue
        content = msg.get("content")
        parts = content if isinstance(content, list) else [content] if isinstance(content, str) else []
        total += _MESSAGE_OVERHEAD + sum(_chat_part_tokens(p) for p in parts)
        for call in msg.get("tool_calls") or ():
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                args = fn.get("arguments")
                name = fn.get("name")
                text = (name if isinstance(name, str) else "") + (args if isinstance(args, str) else "")
                total += _BLOCK_OVERHEAD + _text_tokens(text)
    return total


def estimate_output_tokens(chars: int) -> int:
    """Output tokens for ``chars`` characters of generated text (the same 4 characters a token)."""
    return -(-max(chars, 0) // 4)


def streamed_chars(chunk: dict[str, Any]) -> int:
    """Characters of generated text in one upstream chat chunk: content, reasoning and tool-call names and
    arguments (what the output-token estimate of a stream left mid-answer counts)."""
    total = 0
    choices = chunk.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        for name in ("content", "reasoning", "reasoning_content"):
            if isinstance(delta.get(name), str):
                total += len(delta[name])
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                total += sum(len(v) for v in (fn.get("name"), fn.get("arguments")) if isinstance(v, str))
    return total
