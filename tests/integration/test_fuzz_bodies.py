"""Hypothesis-generated Anthropic and OpenAI request bodies against the live gateway: every field
is sometimes valid and sometimes a random JSON value of any type, plus unknown extra fields, wrong
content types, non-JSON and oversize bodies. Nothing a client sends may produce a 5xx; every 4xx must
be in the API's own error shape.

Counts are printed (``fuzz: N requests, 0 5xx``); run with ``-s`` to see them:

    /tmp/venv313/bin/python -m pytest tests/integration/test_fuzz_bodies.py -q -s -W ignore::DeprecationWarning

``OB1GW_FUZZ_EXAMPLES`` scales the number of generated bodies per test (default 1500).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fakes import faults as F
from tests.fixtures.gateway import GatewayHandle

EXAMPLES = int(os.environ.get("OB1GW_FUZZ_EXAMPLES", "1500"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)

# ---- strategies ----------------------------------------------------------------------------------------
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
any_json = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


WILD = 1 / 12  # chance that a field's value is replaced by any JSON value at all
MISSING = 0.04  # chance that a required field is left out
OPTIONAL = 0.4  # chance that an optional field is present


@st.composite
def fields(
    draw: st.DrawFn, required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]]
) -> dict[str, Any]:
    """An object whose required keys are usually present and plausible, optional keys sometimes present,
    any value sometimes replaced by random JSON, and sometimes an unknown extra key (to be ignored).
    The rates come from a ``random.Random`` seeded by Hypothesis, so they hold whatever values Hypothesis
    favours (its own floats lean towards 0.0)."""
    rnd = random.Random(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    out: dict[str, Any] = {}
    for name, strategy in required.items():
        if rnd.random() >= MISSING:
            out[name] = draw(any_json if rnd.random() < WILD else strategy)
    for name, strategy in optional.items():
        if rnd.random() < OPTIONAL:
            out[name] = draw(any_json if rnd.random() < WILD else strategy)
    if rnd.random() < 0.1:
        out["x_unknown_" + draw(st.text("abcxyz", max_size=4))] = draw(any_json)
    return out


cache_control = st.just({"type": "ephemeral"})
text_block = fields({"type": st.just("text"), "text": st.text(max_size=20)}, {"cache_control": cache_control})
image_block = fields(
    {
        "type": st.just("image"),
        "source": st.one_of(
            fields(
                {"type": st.just("base64"), "media_type": st.just("image/png"), "data": st.just("iVBORw0KGgo=")}, {}
            ),
            fields({"type": st.just("url"), "url": st.just("https://example.com/a.png")}, {}),
        ),
    },
    {},
)
tool_use_block = fields(
    {
        "type": st.just("tool_use"),
        "id": st.sampled_from(["toolu_1", "toolu_2"]),
        "name": st.sampled_from(["get_weather", "x" * 80]),
        "input": st.dictionaries(st.text(max_size=4), scalars, max_size=2),
    },
    {},
)
tool_result_block = fields(
    {"type": st.just("tool_result"), "tool_use_id": st.sampled_from(["toolu_1", "toolu_9"])},
    {"content": st.one_of(st.text(max_size=10), st.lists(text_block, max_size=2)), "is_error": st.booleans()},
)
thinking_block = fields(
    {"type": st.sampled_from(["thinking", "redacted_thinking"]), "thinking": st.text(max_size=10)},
    {"signature": st.text(max_size=10), "data": st.text(max_size=10)},
)
any_block = st.one_of(
    text_block,
    image_block,
    tool_use_block,
    tool_result_block,
    thinking_block,
    fields({"type": st.sampled_from(["document", "search_result", "weird"])}, {"source": any_json}),
)
anthropic_message = fields(
    {
        "role": st.sampled_from(["user", "assistant"] * 4 + ["system", "tool", "bogus", ""]),
        "content": st.one_of(st.text(max_size=20), st.lists(any_block, max_size=3)),
    },
    {},
)
anthropic_tool = fields(
    {"name": st.sampled_from(["get_weather", "y" * 70, ""]), "input_schema": st.just({"type": "object"})},
    {"description": st.text(max_size=10), "type": st.sampled_from(["custom", "web_search_20250305"])},
)
anthropic_body = fields(
    {
        "model": st.sampled_from(["claude-sonnet-4-5", "anthropic/claude-haiku-4.5", "gpt-4o-mini"] * 3 + ["nope"]),
        "max_tokens": st.integers(min_value=1, max_value=100_000) | st.integers(min_value=-5, max_value=0),
        "messages": st.lists(anthropic_message, min_size=1, max_size=4),
    },
    {
        "system": st.one_of(st.text(max_size=20), st.lists(text_block, max_size=2)),
        "stream": st.booleans(),
        "temperature": st.floats(min_value=0, max_value=1),
        "top_p": st.floats(min_value=0, max_value=1),
        "top_k": st.integers(min_value=0, max_value=50),
        "stop_sequences": st.lists(st.text(max_size=5), max_size=3),
        "tools": st.lists(anthropic_tool, max_size=2),
        "tool_choice": fields(
            {"type": st.sampled_from(["auto", "any", "tool", "none", "other"])},
            {"name": st.just("get_weather"), "disable_parallel_tool_use": st.booleans()},
        ),
        "metadata": fields({}, {"user_id": st.text(max_size=8)}),
        "thinking": fields(
            {"type": st.sampled_from(["enabled", "disabled", "adaptive", "other"])},
            {"budget_tokens": st.integers(min_value=-1, max_value=5000)},
        ),
        "output_config": fields({}, {"effort": st.sampled_from(["low", "max", "ultra"])}),
        "service_tier": st.text(max_size=5),
    },
)

openai_part = st.one_of(
    fields({"type": st.just("text"), "text": st.text(max_size=10)}, {}),
    fields({"type": st.just("image_url"), "image_url": fields({"url": st.just("https://e.com/x.png")}, {})}, {}),
)
openai_message = fields(
    {
        "role": st.sampled_from(["user", "assistant"] * 3 + ["system", "tool", "developer", "bogus"]),
        "content": st.one_of(st.none(), st.text(max_size=20), st.lists(openai_part, max_size=2)),
    },
    {
        "tool_calls": st.lists(
            fields(
                {
                    "id": st.just("call_1"),
                    "type": st.just("function"),
                    "function": fields({"name": st.just("f"), "arguments": st.just("{}")}, {}),
                },
                {},
            ),
            max_size=2,
        ),
        "tool_call_id": st.just("call_1"),
        "name": st.text(max_size=5),
    },
)
openai_body = fields(
    {
        "model": st.sampled_from(["gpt-4o-mini", "openai/gpt-5", "claude-sonnet-4-5"] * 3 + ["nope"]),
        "messages": st.lists(openai_message, min_size=1, max_size=4),
    },
    {
        "stream": st.booleans(),
        "stream_options": fields({}, {"include_usage": st.booleans()}),
        "max_tokens": st.integers(min_value=-5, max_value=100_000),
        "temperature": st.floats(min_value=0, max_value=2),
        "tools": st.lists(
            fields({"type": st.just("function"), "function": fields({"name": st.just("f")}, {})}, {}), max_size=2
        ),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "stop": st.one_of(st.text(max_size=5), st.lists(st.text(max_size=5), max_size=2)),
        "n": st.integers(min_value=0, max_value=3),
        "user": st.text(max_size=8),
        "reasoning": fields({}, {"effort": st.sampled_from(["low", "high"])}),
    },
)

# Raw request mutations: wrong content types, non-JSON, non-object JSON, truncated JSON.
raw_bodies = st.one_of(
    st.binary(max_size=64).map(lambda b: (b, "application/json")),
    st.text(max_size=40).map(lambda t: (t.encode(), "application/json")),
    any_json.map(lambda v: (json.dumps(v).encode(), "application/json")),
    st.sampled_from(
        ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "", "application/xml"]
    ).map(lambda ct: (b'{"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": []}', ct)),
    st.just((b'{"model": "claude-sonnet-4-5", "messages": [', "application/json")),
)


# ---- harness ------------------------------------------------------------------------------------------
class Tally:
    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.by_path: dict[str, Counter[int]] = {}

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    t = Tally()
    yield t
    print(f"\nfuzz (hypothesis bodies): {t.total} requests, {t.server_errors} 5xx; statuses {dict(t.statuses)}")
    for path, statuses in sorted(t.by_path.items()):
        print(f"  {path}: {dict(statuses)}")


@pytest.fixture
def fuzz_gw(tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    # Small body limit so oversize bodies are cheap; upstream faults are not under test here.
    with F.start_gateway(tmp_path / "home", fake_ob1, max_body_bytes=64 * 1024, max_retries=0) as gw:
        yield gw


def check(api: str, response: httpx.Response, tally: Tally, sent: Any) -> None:
    tally.statuses[response.status_code] += 1
    tally.by_path.setdefault(response.request.url.path, Counter())[response.status_code] += 1
    assert response.status_code < 500, f"{response.status_code} for {sent!r}: {response.text[:500]}"
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        # The healthy fake never fails mid-stream, so any in-stream error is the gateway's doing.
        text = response.text
        assert "event: error" not in text and '"error":' not in text, f"in-stream error for {sent!r}: {text[-500:]}"
    if response.status_code >= 400:
        body = response.json()
        if api == "anthropic":
            assert body["type"] == "error" and isinstance(body["error"]["message"], str), body
        else:
            assert set(body["error"]) == {"message", "type", "param", "code"}, body


def post(client: httpx.Client, path: str, content: bytes, content_type: str | None, key: str) -> httpx.Response:
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    if content_type is not None:
        headers["content-type"] = content_type
    with client.stream("POST", path, content=content, headers=headers) as response:
        response.read()  # streams are read to the end, so mid-stream failures surface too
        return response


def encode(body: Any) -> bytes:
    return json.dumps(body, allow_nan=True).encode()


def run_json_fuzz(gw: GatewayHandle, tally: Tally, api: str, path: str, strategy: st.SearchStrategy[Any]) -> None:
    started = time.monotonic()
    with httpx.Client(base_url=gw.base_url, timeout=30, limits=httpx.Limits(max_keepalive_connections=4)) as client:

        @SETTINGS
        @given(body=strategy)
        def fuzz(body: Any) -> None:
            check(api, post(client, path, encode(body), "application/json", gw.key), tally, body)

        fuzz()
    print(f"\n{path}: {EXAMPLES} bodies in {time.monotonic() - started:.1f} s")


def test_fuzz_anthropic_messages(fuzz_gw: GatewayHandle, tally: Tally) -> None:
    run_json_fuzz(fuzz_gw, tally, "anthropic", "/v1/messages", anthropic_body)


def test_fuzz_anthropic_count_tokens(fuzz_gw: GatewayHandle, tally: Tally) -> None:
    run_json_fuzz(fuzz_gw, tally, "anthropic", "/v1/messages/count_tokens", anthropic_body)


def test_fuzz_openai_chat_completions(fuzz_gw: GatewayHandle, tally: Tally) -> None:
    run_json_fuzz(fuzz_gw, tally, "openai", "/v1/chat/completions", openai_body)


@pytest.mark.parametrize(
    ("api", "path"),
    [("anthropic", "/v1/messages"), ("openai", "/v1/chat/completions"), ("anthropic", "/v1/messages/count_tokens")],
)
def test_fuzz_raw_bodies(fuzz_gw: GatewayHandle, tally: Tally, api: str, path: str) -> None:
    with httpx.Client(base_url=fuzz_gw.base_url, timeout=30) as client:

        @settings(SETTINGS, max_examples=max(EXAMPLES // 10, 50))
        @given(raw=raw_bodies)
        def fuzz(raw: tuple[bytes, str]) -> None:
            response = post(client, path, raw[0], raw[1], fuzz_gw.key)
            check(api, response, tally, raw)
            if raw[1] and "json" not in raw[1]:
                assert response.status_code == 415

        fuzz()
        oversize = b'{"model": "claude-sonnet-4-5", "pad": "' + b"x" * (70 * 1024) + b'"}'
        for chunked in (False, True):
            content: Any = iter([oversize]) if chunked else oversize
            response = client.post(path, content=content, headers={"x-api-key": fuzz_gw.key})
            check(api, response, tally, "oversize")
            assert response.status_code == 413
