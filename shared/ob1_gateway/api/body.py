"""Read a request body as one JSON object, enforcing the size limit and content type.

Everything a client can send ends in a 4xx here rather than a 5xx later: a body over the limit (by its
``Content-Length`` or as it streams in) is 413; a content type that is not JSON is 415; bytes that are
not strict JSON (RFC 8259: ``NaN`` / ``Infinity`` are refused), JSON nested deeper than
``MAX_DEPTH`` (which would exhaust recursion when the body is re-encoded for the upstream), strings with
lone UTF-16 surrogates (which cannot be re-encoded as UTF-8) and JSON that is not an object are 400.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from fastapi import Request

from ..settings import Settings
from .errors import ApiError

MAX_DEPTH = 128
OPENAI_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
# A lone surrogate can only come from a \uD800-\uDFFF escape or from CESU-style bytes (ED A0..BF ..).
_MAYBE_SURROGATE = re.compile(rb"\\[uU][dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _too_deep(data: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    return False


async def read_json_object(request: Request, settings: Settings) -> dict[str, Any]:
    """The body as a JSON object, or the API's 4xx: too large (413), not JSON (415/400), not received
    within ``body_timeout_seconds`` (408: a client that trickles its body cannot hold the server)."""
    limit = settings.max_body_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise ApiError(413, f"request body is larger than the {limit}-byte limit")
    content_type = request.headers.get("content-type", "").lower()
    if content_type and "json" not in content_type:
        raise ApiError(415, f"unsupported content type '{content_type[:100]}': send application/json")
    body = bytearray()
    try:
        async with asyncio.timeout(settings.body_timeout_seconds):
            async for part in request.stream():
                body += part
                if len(body) > limit:
                    raise ApiError(413, f"request body is larger than the {limit}-byte limit")
    except TimeoutError:
        raise ApiError(408, f"request body not received within {settings.body_timeout_seconds:g} s") from None
    raw = bytes(body)
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH and _too_deep(data, MAX_DEPTH):
        raise ApiError(400, f"request body is nested deeper than {MAX_DEPTH} levels")
    if _MAYBE_SURROGATE.search(raw):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, "request body contains a lone UTF-16 surrogate (invalid Unicode)") from None
    return data


def require_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"'{name}' is required and must be a non-empty string", param=name)
    return value


def optional_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApiError(400, f"'{name}' must be a boolean", param=name)
    return value


# ---- OpenAPI request bodies ------------------------------------------------------------------------------
# The routers read raw bodies (above), so FastAPI cannot infer their schemas; these describe them in
# /openapi.json (``openapi_extra=json_body(...)``) for clients and for schema-driven fuzzing. They are
# documentation only: parsing and validation stay in ``read_json_object`` and the translators.
_CONTENT_BLOCKS = {
    "type": "array",
    "items": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}},
}
_ANTHROPIC_MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"type": "string", "enum": ["user", "assistant"]},
        "content": {"anyOf": [{"type": "string"}, _CONTENT_BLOCKS]},
    },
}
_ANTHROPIC_COMMON = {
    "model": {"type": "string", "minLength": 1},
    "messages": {"type": "array", "minItems": 1, "items": _ANTHROPIC_MESSAGE},
    "system": {"anyOf": [{"type": "string"}, _CONTENT_BLOCKS]},
    "tools": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "description": {"type": "string"},
                "input_schema": {"type": "object"},
            },
        },
    },
    "tool_choice": {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"type": "string", "enum": ["auto", "any", "tool", "none"]}, "name": {"type": "string"}},
    },
    "thinking": {
        "type": "object",
        "properties": {"type": {"type": "string"}, "budget_tokens": {"type": "integer", "minimum": 1}},
    },
}
_EXAMPLE_MESSAGES = [{"role": "user", "content": "Hello"}]
ANTHROPIC_MESSAGES_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["model", "max_tokens", "messages"],
    "properties": {
        **_ANTHROPIC_COMMON,
        "max_tokens": {"type": "integer", "minimum": 1},
        "stream": {"type": "boolean"},
        "temperature": {"type": "number", "minimum": 0, "maximum": 1},
        "top_p": {"type": "number", "minimum": 0, "maximum": 1},
        "top_k": {"type": "integer", "minimum": 0},
        "stop_sequences": {"type": "array", "items": {"type": "string"}},
        "metadata": {"type": "object", "properties": {"user_id": {"type": "string"}}},
    },
    "example": {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": _EXAMPLE_MESSAGES},
}
ANTHROPIC_COUNT_TOKENS_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": _ANTHROPIC_COMMON,
    "example": {"model": "claude-sonnet-4-5", "messages": _EXAMPLE_MESSAGES},
}
OPENAI_CHAT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["role"],
                "properties": {
                    "role": {"type": "string", "enum": list(OPENAI_ROLES)},
                    "content": {"anyOf": [{"type": "string"}, {"type": "array"}, {"type": "null"}]},
                    "tool_calls": {"type": "array"},
                    "tool_call_id": {"type": "string"},
                },
            },
        },
        "stream": {"type": "boolean"},
        "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}},
        "max_tokens": {"type": "integer", "minimum": 1},
        "max_completion_tokens": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "tools": {"type": "array"},
        "tool_choice": {},
        "stop": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "user": {"type": "string"},
    },
    "example": {"model": "gpt-4o-mini", "messages": _EXAMPLE_MESSAGES},
}
_RESPONSES_INPUT_ITEM = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["message", "function_call", "function_call_output", "reasoning"]},
        "role": {"type": "string", "enum": ["user", "assistant", "system", "developer"]},
        "content": {"anyOf": [{"type": "string"}, {"type": "array"}]},
        "call_id": {"type": "string"},
        "name": {"type": "string"},
        "arguments": {"type": "string"},
        "output": {"anyOf": [{"type": "string"}, {"type": "array"}]},
    },
}
OPENAI_RESPONSES_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "input": {"anyOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": _RESPONSES_INPUT_ITEM}]},
        "instructions": {"type": "string"},
        "stream": {"type": "boolean"},
        "max_output_tokens": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "top_p": {"type": "number", "minimum": 0, "maximum": 1},
        "tools": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {"type": "string"},
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "parameters": {"type": "object"},
                    "strict": {"type": "boolean"},
                },
            },
        },
        "tool_choice": {},
        "parallel_tool_calls": {"type": "boolean"},
        "reasoning": {"type": "object", "properties": {"effort": {"type": "string"}, "summary": {"type": "string"}}},
        "text": {"type": "object"},
        "include": {"type": "array", "items": {"type": "string"}},
        "store": {"type": "boolean"},
        "user": {"type": "string"},
    },
    "example": {"model": "gpt-4o-mini", "input": "Hello"},
}


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON request body with ``schema``."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
