"""Usage normalisation (table + hypothesis invariants), tool-name shortening, error mapping."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ob1_gateway.translate.error_bodies import (
    anthropic_error_body,
    anthropic_error_type,
    chunk_error,
    client_status_for_upstream,
    openai_error_body,
    upstream_error_message,
)
from ob1_gateway.translate.token_usage import Usage, usage_from_openai
from ob1_gateway.translate.tool_names import ToolNameMap

# -- usage ----------------------------------------------------------------------------------------

USAGE_CASES = [
    ("none", None, Usage()),
    ("not_a_dict", [1], Usage()),
    ("plain", {"prompt_tokens": 10, "completion_tokens": 5}, Usage(10, 5)),
    (
        "openrouter_cached_and_write_and_cost",
        {
            "prompt_tokens": 100,
            "completion_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 60},
            "cache_write_tokens": 30,
            "cost": 0.0123,
        },
        Usage(100, 7, 60, 30, 0.0123),
    ),
    (
        "cache_write_in_details",
        {"prompt_tokens": 50, "prompt_tokens_details": {"cache_write_tokens": 20}},
        Usage(50, 0, 0, 20),
    ),
    (
        "cache_creation_input_tokens",
        {"prompt_tokens": 50, "cache_creation_input_tokens": 9},
        Usage(50, 0, 0, 9),
    ),
    (
        "null_fields",
        {"prompt_tokens": None, "completion_tokens": None, "prompt_tokens_details": None},
        Usage(),
    ),
    ("cost_int", {"cost": 1}, Usage(cost_usd=1.0)),
    ("cost_bool_ignored", {"cost": True}, Usage()),
    ("cost_string_ignored", {"cost": "0.1"}, Usage()),
    ("negative_clamped", {"prompt_tokens": -5}, Usage()),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in USAGE_CASES], ids=[c[0] for c in USAGE_CASES])
def test_usage_from_openai(raw: object, expected: Usage) -> None:
    assert usage_from_openai(raw) == expected  # type: ignore[arg-type]


def test_input_tokens_subtracts_both_cache_counts_and_anthropic_shape() -> None:
    u = Usage(prompt_tokens=100, completion_tokens=7, cache_read_tokens=60, cache_write_tokens=30)
    assert u.input_tokens == 10
    assert u.anthropic() == {
        "input_tokens": 10,
        "output_tokens": 7,
        "cache_creation_input_tokens": 30,
        "cache_read_input_tokens": 60,
    }


def test_anthropic_usage_always_has_both_cache_fields() -> None:
    assert set(Usage().anthropic()) == {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    }


_n = st.one_of(st.none(), st.integers(-10, 10**7))


@given(prompt=_n, completion=_n, cached=_n, write=_n, cost=st.one_of(st.none(), st.floats(0, 100)))
def test_property_usage_invariants(prompt, completion, cached, write, cost) -> None:  # type: ignore[no-untyped-def]
    raw = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "cache_write_tokens": write,
        "cost": cost,
    }
    u = usage_from_openai(raw)
    a = u.anthropic()
    assert all(isinstance(v, int) and v >= 0 for v in a.values())
    assert a["input_tokens"] == max(u.prompt_tokens - u.cache_read_tokens - u.cache_write_tokens, 0)
    # whenever the upstream's counts are consistent, Anthropic's three input fields add up to prompt_tokens
    if u.cache_read_tokens + u.cache_write_tokens <= u.prompt_tokens:
        total = a["input_tokens"] + a["cache_read_input_tokens"] + a["cache_creation_input_tokens"]
        assert total == u.prompt_tokens
    assert a["output_tokens"] == max(completion or 0, 0)
    assert u.cost_usd == cost
    assert usage_from_openai(json.loads(json.dumps(raw))) == u  # wire round trip is stable


# -- tool names -----------------------------------------------------------------------------------


def test_short_names_unchanged() -> None:
    m = ToolNameMap()
    assert m.shorten("Bash") == "Bash"
    assert m.shorten("x" * 64) == "x" * 64
    assert len(m) == 0
    assert m.restore("Bash") == "Bash"


def test_long_names_shortened_deterministically_and_restored() -> None:
    long = "mcp__some_server_with_a_long_name__" + "tool_with_an_even_longer_name_" * 3
    a, b = ToolNameMap(), ToolNameMap()
    short = a.shorten(long)
    assert len(short) == 64
    assert short == b.shorten(long)
    assert short.startswith(long[:53])
    assert a.restore(short) == long


def test_long_names_with_same_prefix_do_not_collide() -> None:
    m = ToolNameMap()
    base = "p" * 70
    assert m.shorten(base + "a") != m.shorten(base + "b")
    assert m.restore(m.shorten(base + "a")) == base + "a"
    assert m.restore(m.shorten(base + "b")) == base + "b"


def test_unknown_name_restored_unchanged() -> None:
    assert ToolNameMap().restore("whatever_" + "z" * 70) == "whatever_" + "z" * 70


@given(st.text(min_size=1, max_size=200))
def test_property_shorten_restore_roundtrip(name: str) -> None:
    m = ToolNameMap()
    short = m.shorten(name)
    assert len(short) <= 64
    assert m.restore(short) == name


# -- errors ---------------------------------------------------------------------------------------

ANTHROPIC_TYPES = [
    (400, "invalid_request_error"),
    (401, "authentication_error"),
    (402, "billing_error"),
    (403, "permission_error"),
    (404, "not_found_error"),
    (413, "request_too_large"),
    (422, "invalid_request_error"),
    (429, "rate_limit_error"),
    (500, "api_error"),
    (502, "api_error"),
    (503, "api_error"),
    (504, "timeout_error"),
    (529, "overloaded_error"),
    (599, "api_error"),
]


@pytest.mark.parametrize(("status", "kind"), ANTHROPIC_TYPES)
def test_anthropic_error_type(status: int, kind: str) -> None:
    assert anthropic_error_type(status) == kind
    assert anthropic_error_body(status, "m") == {"type": "error", "error": {"type": kind, "message": "m"}}


OPENAI_TYPES = [
    (400, "invalid_request_error"),
    (401, "authentication_error"),
    (403, "permission_error"),
    (404, "not_found_error"),
    (413, "invalid_request_error"),
    (418, "invalid_request_error"),
    (429, "rate_limit_error"),
    (500, "server_error"),
    (502, "server_error"),
    (504, "server_error"),
    (529, "server_error"),
]


@pytest.mark.parametrize(("status", "kind"), OPENAI_TYPES)
def test_openai_error_body(status: int, kind: str) -> None:
    assert openai_error_body(status, "m") == {"error": {"message": "m", "type": kind, "param": None, "code": None}}


def test_openai_error_body_param_and_code() -> None:
    body = openai_error_body(400, "bad", param="messages", code="invalid_value")
    assert body["error"]["param"] == "messages" and body["error"]["code"] == "invalid_value"


CLIENT_STATUS = [
    (400, 400),
    (401, 401),
    (403, 403),
    (404, 404),
    (413, 413),
    (429, 429),
    (500, 500),
    (502, 502),
    (504, 504),
    (529, 529),
    (402, 400),
    (408, 408),  # a timeout stays retryable (Claude Code and the SDKs retry 408, never 400)
    (409, 409),
    (422, 400),
    (503, 503),
    (520, 502),
    (200, 502),
]


@pytest.mark.parametrize(("upstream", "client"), CLIENT_STATUS)
def test_client_status_for_upstream(upstream: int, client: int) -> None:
    assert client_status_for_upstream(upstream) == client


JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEyMyJ9.c2lnbmF0dXJlLXBhcnQ"
MESSAGES = [
    ("openrouter", {"error": {"message": "Rate limited", "code": 429}}, "Rate limited"),
    (
        "openrouter_raw_metadata",
        {
            "error": {
                "message": "Provider returned error",
                "code": 400,
                "metadata": {"raw": "prompt is too long"},
            }
        },
        "Provider returned error: prompt is too long",
    ),
    (
        "raw_metadata_json",
        {
            "error": {
                "message": "Provider returned error",
                "metadata": {"raw": json.dumps({"type": "error", "error": {"message": "bad image"}})},
            }
        },
        "Provider returned error: bad image",
    ),
    ("anthropic_shape", {"type": "error", "error": {"type": "x", "message": "nope"}}, "nope"),
    ("string_error", {"error": "plain"}, "plain"),
    ("detail", {"detail": "Not authenticated"}, "Not authenticated"),
    (
        "bearer_redacted",
        {"error": {"message": "bad header Bearer abc.def-123:org_1"}},
        "bad header [redacted]",
    ),
    ("jwt_redacted", {"error": {"message": f"token {JWT} expired"}}, "token [redacted] expired"),
    ("gateway_key_redacted", {"message": "key ob1gw_k1_secretpart invalid"}, "key [redacted] invalid"),
    ("empty_message_falls_back", {"error": {"message": ""}}, "upstream returned 418"),
]


@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in MESSAGES], ids=[c[0] for c in MESSAGES])
def test_upstream_error_message(body: dict, expected: str) -> None:
    assert upstream_error_message(418, json.dumps(body).encode()) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "upstream returned 502"),
        (b"<html><body>Bad gateway</body></html>", "upstream returned 502"),
        (b"plain text failure", "plain text failure"),
        (b"\xff\xfe garbage Bearer xyz", "\ufffd\ufffd garbage [redacted]"),
    ],
)
def test_upstream_error_message_non_json(raw: bytes, expected: str) -> None:
    assert upstream_error_message(502, raw) == expected


def test_upstream_error_message_is_capped() -> None:
    msg = upstream_error_message(400, json.dumps({"error": {"message": "x" * 10_000}}).encode())
    assert len(msg) <= 2003


@pytest.mark.parametrize(
    ("chunk", "expected"),
    [
        ({"choices": []}, None),
        ({"error": {"message": "Overloaded", "code": 529}}, (529, "Overloaded")),
        ({"error": {"message": "boom", "code": "server_error"}}, (502, "boom")),
        ({"error": {"message": "odd", "code": 418}}, (400, "odd")),
        ({"error": {"code": 500}}, (500, "upstream returned 500")),
    ],
)
def test_chunk_error(chunk: dict, expected: object) -> None:
    assert chunk_error(chunk) == expected
