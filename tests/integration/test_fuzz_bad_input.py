"""Hand-picked bad input: each case gets a clear 4xx in the API's own error shape, with the
field named where there is one; unknown extra fields are ignored. The generated versions of these are
in ``test_fuzz_bodies.py`` and ``test_fuzz_schema.py``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import faults as F
from tests.fixtures.gateway import GatewayHandle

A_PATH, O_PATH, C_PATH = "/v1/messages", "/v1/chat/completions", "/v1/messages/count_tokens"
A_OK = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
O_OK = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
LIMIT = 16 * 1024


@pytest.fixture
def gw(tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    with F.start_gateway(tmp_path / "home", fake_ob1, max_body_bytes=LIMIT) as handle:
        yield handle


def send(gw: GatewayHandle, path: str, content: bytes | str | dict, content_type: str | None = "application/json"):
    headers = {"x-api-key": gw.key, "anthropic-version": "2023-06-01"}
    if content_type is not None:
        headers["content-type"] = content_type
    if isinstance(content, dict):
        content = json.dumps(content)
    return httpx.post(gw.base_url + path, content=content, headers=headers, timeout=30)


def error_of(path: str, response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if path.startswith("/v1/messages"):
        assert body["type"] == "error" and set(body["error"]) == {"type", "message"}, body
        return body["error"]
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {**base, **changes}
    return {k: v for k, v in out.items() if v is not _DROP}


_DROP = object()

CASES: list[tuple[str, str, Any, int, str]] = [
    # (id, path, body, status, text the message must contain)
    ("a-model-missing", A_PATH, with_(A_OK, model=_DROP), 400, "model"),
    ("a-model-int", A_PATH, with_(A_OK, model=7), 400, "model"),
    ("a-max-tokens-missing", A_PATH, with_(A_OK, max_tokens=_DROP), 400, "max_tokens"),
    ("a-max-tokens-string", A_PATH, with_(A_OK, max_tokens="16"), 400, "max_tokens"),
    ("a-max-tokens-float", A_PATH, with_(A_OK, max_tokens=1.5), 400, "max_tokens"),
    ("a-messages-empty", A_PATH, with_(A_OK, messages=[]), 400, "messages"),
    ("a-messages-object", A_PATH, with_(A_OK, messages={"role": "user"}), 400, "messages"),
    ("a-role-unknown", A_PATH, with_(A_OK, messages=[{"role": "robot", "content": "x"}]), 400, "role"),
    (
        "a-bad-body-unknown-model",
        A_PATH,
        {"model": "no-such-model", "max_tokens": 16, "messages": "nope"},
        400,
        "messages",
    ),
    ("c-bad-body-unknown-model", C_PATH, {"model": "no-such-model", "messages": "nope"}, 400, "messages"),
    (
        "c-bad-role",
        C_PATH,
        {"model": "claude-sonnet-4-5", "messages": [{"role": "robot", "content": "x"}]},
        400,
        "role",
    ),
    ("o-bad-body-unknown-model", O_PATH, {"model": "no-such-model", "messages": "nope"}, 400, "messages"),
    ("a-system-role-only", A_PATH, with_(A_OK, messages=[{"role": "system", "content": "x"}]), 400, "role"),
    ("a-content-int", A_PATH, with_(A_OK, messages=[{"role": "user", "content": 3}]), 400, "content"),
    (
        "a-block-type-list",
        A_PATH,
        with_(A_OK, messages=[{"role": "user", "content": [{"type": ["text"], "text": "x"}]}]),
        400,
        "block type",
    ),
    ("a-stream-string", A_PATH, with_(A_OK, stream="yes"), 400, "stream"),
    ("a-system-int", A_PATH, with_(A_OK, system=5), 400, "system"),
    ("a-tools-object", A_PATH, with_(A_OK, tools={"name": "x"}), 400, "tools"),
    ("o-model-missing", O_PATH, with_(O_OK, model=_DROP), 400, "model"),
    ("o-messages-empty", O_PATH, with_(O_OK, messages=[]), 400, "messages"),
    ("o-messages-string", O_PATH, with_(O_OK, messages="hi"), 400, "messages"),
    ("o-role-unknown", O_PATH, with_(O_OK, messages=[{"role": "robot", "content": "x"}]), 400, "role"),
    ("o-role-missing", O_PATH, with_(O_OK, messages=[{"content": "x"}]), 400, "role"),
    ("o-stream-int", O_PATH, with_(O_OK, stream=1), 400, "stream"),
    ("c-messages-missing", C_PATH, with_(A_OK, messages=_DROP), 400, "messages"),
    ("c-model-missing", C_PATH, with_(A_OK, model=_DROP), 400, "model"),
]


@pytest.mark.parametrize(("path", "body", "status", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_fields_are_400_naming_the_field(
    gw: GatewayHandle, fake_ob1: Any, path: str, body: dict, status: int, fragment: str
) -> None:
    response = send(gw, path, body)
    assert response.status_code == status, response.text
    error = error_of(path, response)
    assert error["type"] == "invalid_request_error"
    assert fragment in error["message"] + str(error.get("param"))
    assert fake_ob1.chat_requests == [], "invalid input never reaches the upstream"


RAW: list[tuple[str, bytes, str | None, int]] = [
    ("not-json", b"hello", "application/json", 400),
    ("truncated-json", b'{"model": "claude-sonnet-4-5", "messages": [', "application/json", 400),
    ("json-array", b"[1, 2]", "application/json", 400),
    ("json-string", b'"hi"', "application/json", 400),
    ("empty", b"", "application/json", 400),
    ("nan", b'{"model": "m", "max_tokens": NaN, "messages": []}', "application/json", 400),
    ("infinity", b'{"model": "m", "temperature": Infinity, "messages": []}', "application/json", 400),
    ("lone-surrogate-escape", b'{"model": "m", "messages": [{"role": "user", "content": "a\\ud800"}]}', None, 400),
    ("lone-surrogate-bytes", b'{"model": "m", "messages": [{"role": "user", "content": "a\xed\xa0\x80"}]}', None, 400),
    ("invalid-utf8", b'{"model": "\xff\xfe"}', "application/json", 400),
    ("deep-nesting", b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json", 400),
    ("very-deep-nesting", b"[" * 7000 + b"]" * 7000, "application/json", 400),
    ("text-plain", json.dumps(A_OK).encode(), "text/plain", 415),
    ("form", b"model=x", "application/x-www-form-urlencoded", 415),
    ("oversize", b'{"pad": "' + b"x" * (LIMIT + 10) + b'"}', "application/json", 413),
]


@pytest.mark.parametrize("path", [A_PATH, O_PATH, C_PATH])
@pytest.mark.parametrize(("raw", "content_type", "status"), [c[1:] for c in RAW], ids=[c[0] for c in RAW])
def test_malformed_bodies_are_4xx_in_the_api_shape(
    gw: GatewayHandle, fake_ob1: Any, path: str, raw: bytes, content_type: str | None, status: int
) -> None:
    response = send(gw, path, raw, content_type)
    assert response.status_code == status, response.text
    error = error_of(path, response)
    assert error["message"]
    assert fake_ob1.chat_requests == []


@pytest.mark.parametrize("path", [A_PATH, O_PATH])
def test_oversize_chunked_body_is_413(gw: GatewayHandle, path: str) -> None:
    chunks = iter([b'{"pad": "', b"x" * LIMIT, b'"}'])
    response = httpx.post(gw.base_url + path, content=chunks, headers={"x-api-key": gw.key}, timeout=30)
    assert response.status_code == 413
    error_of(path, response)


def test_a_valid_surrogate_pair_is_accepted(gw: GatewayHandle) -> None:
    body = with_(A_OK, messages=[{"role": "user", "content": "smile \\ud83d\\ude00"}])
    raw = json.dumps(body).replace("\\\\u", "\\u").encode()
    response = send(gw, A_PATH, raw)
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "Echo: smile \U0001f600"


@pytest.mark.parametrize(("path", "body"), [(A_PATH, A_OK), (C_PATH, A_OK)])
def test_unknown_extra_fields_are_ignored(gw: GatewayHandle, path: str, body: dict) -> None:
    extra = {**body, "x_future_field": {"nested": [1, 2]}, "another": None}
    extra["messages"] = [{**body["messages"][0], "x_message_extra": True}]
    response = send(gw, path, extra)
    assert response.status_code == 200, response.text


def test_unknown_chat_completions_fields_are_refused_by_name(gw: GatewayHandle, fake_ob1: Any) -> None:
    """The chat completions body is passed on, so an unknown top-level field would reach the upstream
    unchecked: it is refused by name, as OpenAI refuses it (translate/chat/chat_fields.py)."""
    extra = {**O_OK, "x_future_field": {"nested": [1, 2]}}
    response = send(gw, O_PATH, extra)
    assert response.status_code == 400, response.text
    error = error_of(O_PATH, response)
    assert error["param"] == "x_future_field" and "x_future_field" in error["message"]
    assert fake_ob1.chat_requests == []


def test_missing_content_type_is_accepted_as_json(gw: GatewayHandle) -> None:
    assert send(gw, A_PATH, A_OK, content_type=None).status_code == 200
