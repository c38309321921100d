"""Error statuses and bodies of both APIs, and safe messages from upstream error bodies.

Decisions:
- 504 maps to Anthropic ``timeout_error`` (the type Anthropic documents for 504), and 408 with it; 529 to
  ``overloaded_error`` (what Claude Code backs off on: an upstream's 503 reaches an Anthropic caller as 529,
  ``api/deps.py``); 502, 503 (the gateway's own: no login) and any other 5xx to ``api_error``; 402 to
  ``billing_error``; other 4xx to ``invalid_request_error``.
- OpenAI bodies use OpenAI's type names; every 5xx is ``server_error``.
- The client sees the upstream status when it is one of this list (400 401 403 404 408 409 413 429 500
  502 503 504 529): 408, 409, 429 and the 5xx stay what a client retries; any other 4xx becomes 400 and
  anything else (another 5xx, or a non-error status we could not use) becomes 502. (Which of 503 and 529
  an overload is depends on the caller's API: ``api/deps.py upstream_api_error``.)
"""

from __future__ import annotations

import json
from typing import Any

from .redact import redact

__all__ = [
    "anthropic_error_body",
    "anthropic_error_type",
    "chunk_error",
    "client_status_for_upstream",
    "openai_error_body",
    "upstream_error_message",
]

_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}

_PASSTHROUGH = frozenset({400, 401, 403, 404, 408, 409, 413, 429, 500, 502, 503, 504, 529})
_MAX_MESSAGE = 2000


def anthropic_error_type(status: int) -> str:
    if status in _ANTHROPIC_TYPES:
        return _ANTHROPIC_TYPES[status]
    if 400 <= status < 500:
        return "invalid_request_error"
    return "api_error"


def anthropic_error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": anthropic_error_type(status), "message": message}}


def openai_error_type(status: int) -> str:
    if status in _OPENAI_TYPES:
        return _OPENAI_TYPES[status]
    if 400 <= status < 500:
        return "invalid_request_error"
    return "server_error"


def openai_error_body(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": openai_error_type(status), "param": param, "code": code}}


def client_status_for_upstream(status: int) -> int:
    if status in _PASSTHROUGH:
        return status
    if 400 <= status < 500:
        return 400
    return 502


def _message_from(obj: Any) -> str | None:
    """The message in the error shapes we know: OpenRouter/OpenAI/Anthropic ``{"error":{"message"}}``
    (plus OpenRouter's ``metadata.raw`` provider text, which is often the only useful part),
    ``{"error": "text"}``, ``{"message": ...}`` and FastAPI's ``{"detail": ...}``."""
    if not isinstance(obj, dict):
        return None
    err = obj.get("error")
    if isinstance(err, str) and err.strip():
        return err.strip()
    if isinstance(err, dict):
        msg = err.get("message")
        msg = msg.strip() if isinstance(msg, str) else ""
        meta = err.get("metadata")
        raw = meta.get("raw") if isinstance(meta, dict) else None
        if isinstance(raw, str) and raw.strip():
            try:
                inner = _message_from(json.loads(raw))
            except ValueError:
                inner = None
            raw_text = inner or raw.strip()
            if raw_text not in msg:
                msg = f"{msg}: {raw_text}" if msg else raw_text
        if msg:
            return msg
    for key in ("message", "detail"):
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def upstream_error_message(status: int, body: bytes) -> str:
    """Best human-readable message from an upstream error body, secrets redacted, length capped.
    Falls back to ``upstream returned <status>`` (HTML pages and empty bodies are not shown)."""
    text = body.decode("utf-8", "replace").strip() if body else ""
    message: str | None = None
    if text:
        try:
            message = _message_from(json.loads(text))
        except ValueError:
            if not text.startswith("<"):
                message = text
    if not message:
        return f"upstream returned {status}"
    message = redact(message)
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "..."
    return message


def chunk_error(chunk: dict[str, Any]) -> tuple[int, str] | None:
    """An ``{"error": {...}}`` object inside a stream chunk (or a 200 body) -> (client status, message).

    OpenRouter puts the provider's HTTP-like status in ``error.code``; when it is missing or not a
    number the failure is reported as 502.
    """
    err = chunk.get("error")
    if not err:
        return None
    code = err.get("code") if isinstance(err, dict) else None
    status = code if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600 else 502
    message = _message_from(chunk) or f"upstream returned {status}"
    return client_status_for_upstream(status), redact(message)[:_MAX_MESSAGE]
