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
from pydantic import BaseModel

from ..settings import Settings
from ..translate.schema import openapi_schema
from .errors import ApiError

MAX_DEPTH = 128
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


# Made once: ``json.loads`` with an option builds a new decoder on every call.
_STRICT = json.JSONDecoder(parse_constant=_reject_constant)


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
        data = _STRICT.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
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


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON request body described by ``model`` (the routes read
    raw bodies, above, so FastAPI cannot infer it)."""
    schema = openapi_schema(model)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
