"""Read a request body as one JSON object, enforcing the size limit and content type."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from .errors import ApiError


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise ApiError(413, f"request body is larger than the {limit}-byte limit")
    content_type = request.headers.get("content-type", "").lower()
    if content_type and "json" not in content_type:
        raise ApiError(415, f"unsupported content type '{content_type}': send application/json")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise ApiError(413, f"request body is larger than the {limit}-byte limit")
    try:
        data = json.loads(body)
    except ValueError:
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
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
