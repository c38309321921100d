"""The client's session id, read from the header each tool sends and validated like any hostile value."""

from __future__ import annotations

import pytest
from ob1_gateway.api.client_session import client_session
from starlette.datastructures import Headers


def session(**headers: str) -> str:
    return client_session(Headers({k.replace("_", "-"): v for k, v in headers.items()}))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-claude-code-session-id": "4f1c2a9e-7b1d-4c55-9f0e-2a6d1c3b8e77"}, "4f1c2a9e-7b1d-4c55-9f0e-2a6d1c3b8e77"),
        ({"x-opencode-session-id": "ses_abc"}, "ses_abc"),  # any x-<vendor>-session-id
        ({"x-session-id": "ses_01JX"}, "ses_01JX"),  # opencode
        ({"session-id": "019a-codex"}, "019a-codex"),  # Codex
        ({"thread-id": "thread.1"}, "thread.1"),
        ({"conversation_id": "c:1"}, "c:1"),  # older Codex
        ({"baggage": "userId=alice, session.id=s-42;prop=x, other=1"}, "s-42"),
        ({"x-claude-code-session-id": "cc", "x-session-id": "oc"}, "cc"),  # Claude Code's first
        ({}, ""),
    ],
)
def test_each_tools_header_names_the_session(headers: dict[str, str], expected: str) -> None:
    assert client_session(Headers(headers)) == expected


@pytest.mark.parametrize(
    "value",
    ["a" * 129, "has space", 'quote"d', "new\\tline", "key=value id=forged", "ümlaut", ""],
)
def test_a_value_that_is_not_a_plain_id_is_no_session(value: str) -> None:
    assert client_session(Headers({"x-claude-code-session-id": value})) == ""


def test_the_longest_id_kept_is_128_characters() -> None:
    assert session(x_session_id="b" * 128) == "b" * 128
