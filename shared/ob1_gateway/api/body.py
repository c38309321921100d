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
import math
import re
from itertools import accumulate
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from ..settings import Settings
from ..translate.schema import openapi_schema
from .errors import ApiError

MAX_DEPTH = 128
# What one body may hold: strings, and outside them JSON objects and arrays, and values (commas). A real
# conversation stays far below (bench/README.md, "Bounded work before admission"); a body at these
# bounds parses quickly, where an unbounded one of ``[{},{},…]`` took seconds and most of the memory.
MAX_CONTAINERS = 100_000
MAX_VALUES = 500_000
MAX_STRINGS = 100_000  # object keys included
# A lone surrogate can only come from a \uD800-\uDFFF escape or from CESU-style bytes (ED A0..BF ..).
_MAYBE_SURROGATE = re.compile(rb"\\[uU][dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")
_STRING = re.compile(rb'"[^"]*"')  # once escapes are gone (see _structure), a string has no quote inside
# A number that may not fit a double or an int64: an exponent of three digits, or 19 digits or more.
_BIG_NUMBER = re.compile(rb"[eE][+-]?0*[0-9]{3}|[0-9]{19}")
_FIELD_BEFORE = re.compile(rb'"([A-Za-z0-9_.-]{1,64})"\s*:\s*\[?\s*$')
_DEPTH_STEP = [0] * 256
for _open, _close in (b"[]", b"{}"):
    _DEPTH_STEP[_open], _DEPTH_STEP[_close] = 1, -1


class _NumberOutOfRange(ValueError):
    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NumberOutOfRange(text)
    return value


def _int64(text: str) -> int:
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise _NumberOutOfRange(text)
    return value


def _without_escapes(raw: bytes) -> bytes:
    """``raw`` with its escapes dropped (``\\\\`` pairs first, then ``\\"``): each string is then a plain
    quoted run with no quote inside. C-speed byte operations only."""
    return raw.replace(b"\\\\", b"").replace(b'\\"', b"")


def _structure(plain: bytes) -> bytes:
    """The JSON of ``plain`` (see ``_without_escapes``) with every string emptied: what is left is its
    structure. It costs time per string (bench/README.md, "Bounded work before admission"), which is why
    strings are counted first."""
    return _STRING.sub(b'""', plain)


def _too_deep(bare: bytes, limit: int) -> bool:
    """Whether the brackets of ``bare`` (a ``_structure``) nest deeper than ``limit``."""
    brackets = bare.translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > limit


_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def _check_structure(raw: bytes) -> bytes | None:
    """Refuse, before parsing, a body whose parse would cost more than its size suggests: too many strings,
    objects, arrays or values, or nesting deeper than ``MAX_DEPTH``. Counting on the raw bytes overcounts
    (strings hold brackets and commas), so only a body that looks past a bound is counted exactly; its
    ``_structure`` is returned then (``_decode`` reads it), else None."""
    containers = raw.count(b"{") + raw.count(b"[")
    if containers <= MAX_DEPTH and raw.count(b",") <= MAX_VALUES:
        return None  # at most MAX_VALUES + MAX_DEPTH values, strings included
    plain = _without_escapes(raw)
    if plain.count(b'"') // 2 > MAX_STRINGS:
        raise ApiError(400, f"request body holds more than {MAX_STRINGS} JSON strings")
    bare = _structure(plain)
    containers = bare.count(b"{") + bare.count(b"[")
    if containers > MAX_CONTAINERS:
        raise ApiError(400, f"request body holds more than {MAX_CONTAINERS} JSON objects and arrays")
    if bare.count(b",") > MAX_VALUES:
        raise ApiError(400, f"request body holds more than {MAX_VALUES} JSON values")
    if containers > MAX_DEPTH and _too_deep(bare, MAX_DEPTH):
        raise ApiError(400, f"request body is nested deeper than {MAX_DEPTH} levels")
    return bare


def _decode(raw: bytes, bare: bytes | None) -> Any:
    """Strict JSON (no ``NaN``/``Infinity``); a number that does not fit a double or an int64 is a 400
    naming its field. Numbers are only checked one by one when the body holds a long one outside its
    strings (``bare``: its ``_structure``, when ``_check_structure`` made it)."""
    text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    if not _BIG_NUMBER.search(raw):
        return _STRICT.decode(text)
    if not _BIG_NUMBER.search(bare if bare is not None else _structure(_without_escapes(raw))):
        return _STRICT.decode(text)
    try:
        return _CHECKED.decode(text)
    except _NumberOutOfRange as exc:
        at = raw.find(exc.literal.encode())
        field = _FIELD_BEFORE.search(raw, max(0, at - 200), at) if at > 0 else None
        name = field.group(1).decode() if field else None
        where = f"{name}: " if name else ""
        raise ApiError(400, f"{where}number {exc.literal[:40]} is out of range", param=name) from None


# Made once: ``json.loads`` with an option builds a new decoder on every call.
_STRICT = json.JSONDecoder(parse_constant=_reject_constant)
_CHECKED = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_int64)


async def read_json_object(request: Request, settings: Settings) -> dict[str, Any]:
    """The body as a JSON object, or the API's 4xx: too large (413), not JSON (415/400), not received
    within ``body_timeout_seconds`` (408: a client that trickles its body cannot hold the server), too
    costly to parse (400: see ``_check_structure``), or gone before it was whole (499, nothing answered)."""
    limit = settings.max_body_bytes
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > limit:
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
    except ClientDisconnect:
        raise ApiError(499, "client closed the connection before its request body was complete") from None
    raw = bytes(body)
    del body
    bare = _check_structure(raw)
    try:
        data = _decode(raw, bare)
    except (ValueError, RecursionError):
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
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
