"""Mutation fuzzing of every route from the requests real clients send (``tests/fixtures/clients``) and
hand-written seeds for the OpenAI shapes: one value (or key) somewhere in a real body is replaced by a
hostile one — control characters, non-ASCII, lone surrogates, huge and non-finite numbers, the wrong
JSON type, deep or wide nesting — and the body is sent to the gateway under uvicorn, as a member with a
one-request-at-a-time key would. For every case:

- no 5xx, and an error is in the calling API's own shape;
- a request that reached the upstream ends in exactly one usage record, with its ``request-id``;
- no parallel slot is left taken (the key allows one request at a time: a leak turns into 429s);
- no caller key, upstream token or raw line break reaches a log record.

``OB1GW_FUZZ_CASES`` sets the number of cases (CI: 5,000; ``make fuzz``: 50,000), ``OB1GW_FUZZ_SEED``
the seed (printed, so a failure can be replayed)."""

from __future__ import annotations

import copy
import json
import logging
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ob1_gateway.access.keys import issue_key
from ob1_gateway.stores.base import KeyPolicy

from tests.fakes import faults as F
from tests.fixtures.gateway import GatewayHandle

CASES = int(os.environ.get("OB1GW_FUZZ_CASES", "5000"))
SEED = int(os.environ.get("OB1GW_FUZZ_SEED", str(int(time.time()))))
CLIENTS = Path(__file__).parents[1] / "fixtures" / "clients"

_RAW = "\x00raw:"  # a string standing for a JSON literal that Python's json cannot write (1e999, NaN)
HOSTILE_STRINGS = [
    "",
    "\r\nx-injected: 1",
    "a\x00b",
    "\u2028line",
    "\x1b[31mred",
    "中文",
    "\ud800",
    "%0a%0d",
    "../../etc/passwd",
    "ob1gw_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "x" * 5000,
    "web_search\r\n",
    "resp_" + "0" * 32,
    "msg_" + "0" * 36,
]
HOSTILE_NUMBERS: list[Any] = [
    -1,
    0,
    1.5,
    2**63,
    -(2**63) - 1,
    10**30,
    f"{_RAW}1e999",
    f"{_RAW}-1e999",
    f"{_RAW}NaN",
    f"{_RAW}Infinity",
    f"{_RAW}1e-999",
    f"{_RAW}{'9' * 400}",
]
HOSTILE_TYPES: list[Any] = [None, True, [], {}, [1, "a", None], {"type": "x"}, {"type": ["x"]}, [{}], [[[]]]]


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def hostile_value(rnd: random.Random) -> Any:
    kind = rnd.random()
    if kind < 0.35:
        return rnd.choice(HOSTILE_STRINGS)
    if kind < 0.6:
        return rnd.choice(HOSTILE_NUMBERS)
    if kind < 0.9:
        return copy.deepcopy(rnd.choice(HOSTILE_TYPES))
    if kind < 0.95:
        return _deep(rnd.choice([60, 130, 300]))
    return [{"type": "text", "text": "w"}] * rnd.choice([500, 3000])


def _paths(value: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield here
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:20]):
            yield from _paths(v, (*here, i))


def mutate(body: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    """``body`` with one to three places made hostile: a value replaced, a key added or a key removed."""
    out = copy.deepcopy(body)
    for _ in range(rnd.choice([1, 1, 1, 2, 3])):
        paths = [p for p in _paths(out) if p]
        if not paths:
            break
        path = rnd.choice(paths)
        parent: Any = out
        for part in path[:-1]:
            parent = parent[part]
        action = rnd.random()
        if action < 0.75:
            parent[path[-1]] = hostile_value(rnd)
        elif action < 0.9 and isinstance(parent, dict):
            parent[rnd.choice(HOSTILE_STRINGS)] = hostile_value(rnd)
        elif isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = hostile_value(rnd)
    return out


def encode(body: Any) -> bytes:
    text = json.dumps(body)
    for literal in {v for v in HOSTILE_NUMBERS if isinstance(v, str)}:
        text = text.replace(json.dumps(literal), literal.removeprefix(_RAW))
    return text.encode("utf-8", "surrogatepass")


# ---- seeds ------------------------------------------------------------------------------------------------
def _recorded() -> list[tuple[str, dict[str, Any]]]:
    seeds = []
    for file in sorted(CLIENTS.glob("*.json")):
        for request in json.loads(file.read_text()).get("requests", []):
            body, path = request.get("body"), request.get("path", "")
            if isinstance(body, dict) and path in ("/v1/messages", "/v1/responses", "/v1/chat/completions"):
                seeds.append((path, body))
    return seeds


CHAT_TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
HANDWRITTEN: list[tuple[str, dict[str, Any]]] = [
    ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    (
        "/v1/chat/completions",
        {
            "model": "openai/gpt-5",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [
                {"role": "system", "content": "terse"},
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            ],
            "tools": [CHAT_TOOL],
            "tool_choice": "auto",
            "temperature": 0.5,
            "max_tokens": 32,
            "frequency_penalty": 0.1,
            "seed": 7,
        },
    ),
    (
        "/v1/responses",
        {
            "model": "gpt-4o-mini",
            "instructions": "terse",
            "input": [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "ok"},
            ],
            "tools": [
                {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}},
                {"type": "web_search"},
            ],
            "stream": True,
            "store": True,
            "max_output_tokens": 64,
            "reasoning": {"effort": "low"},
            "text": {"format": {"type": "text"}},
        },
    ),
    (
        "/v1/messages",
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 64,
            "stream": True,
            "system": [{"type": "text", "text": "terse", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
            ],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "metadata": {"user_id": "u"},
        },
    ),
]


def seeds() -> list[tuple[str, dict[str, Any]]]:
    out = _recorded() + HANDWRITTEN
    for path, body in list(out):
        if path == "/v1/messages":
            count = {k: v for k, v in body.items() if k not in ("max_tokens", "stream", "metadata")}
            out.append(("/v1/messages/count_tokens", count))
        if path == "/v1/responses":
            out.append(("/v1/responses/input_tokens", {k: v for k, v in body.items() if k != "stream"}))
    return out


GETS = ["/v1/models", "/v1/models/{}", "/v1/usage?month={}", "/v1/responses/{}", "/v1/responses/{}/input_items"]


# ---- the run ----------------------------------------------------------------------------------------------
class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def fuzz_gw(tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    with F.start_gateway(tmp_path / "home", fake_ob1, max_retries=0, max_body_bytes=1024 * 1024) as gw:
        yield gw


def _shape_problem(path: str, response: httpx.Response) -> str | None:
    """The error is in the caller's API's shape: a route's own API, else (the models, usage and responses
    GETs here, which send ``anthropic-version``) Anthropic's (``api.errors.speaks_anthropic``)."""
    try:
        body = response.json()
    except ValueError:
        return "not JSON"
    if path.startswith("/v1/messages") or not path.startswith(("/v1/chat", "/v1/responses")):
        ok = body.get("type") == "error" and {"type", "message"} <= set(body.get("error", {}))
    else:
        ok = isinstance(body.get("error"), dict) and set(body["error"]) == {"message", "type", "param", "code"}
    return None if ok else f"not the API's error shape: {response.text[:200]}"


def test_mutated_real_requests_break_no_guarantee(fuzz_gw: GatewayHandle, fake_ob1: Any) -> None:
    gw = fuzz_gw
    print(f"\nfuzz seed {SEED} ({CASES} cases)", file=sys.__stderr__, flush=True)  # seen even if the run is killed
    rnd = random.Random(SEED)
    record, key = issue_key("fuzzed", policy=KeyPolicy(max_parallel=1))
    gw.backends.key_store.put(record)
    secret = key.split("_")[2]
    handler = _Records()
    package = logging.getLogger("ob1_gateway")
    saved_level = package.level
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    pool = seeds()
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    upstream_ids: list[str] = []
    try:
        with httpx.Client(base_url=gw.base_url, timeout=60) as client:
            for case in range(CASES):
                headers = {"authorization": f"Bearer {key}", "x-api-key": key, "anthropic-version": "2023-06-01"}
                if rnd.random() < 0.08:
                    template = rnd.choice(GETS)
                    path = template.format(
                        httpx.QueryParams({"v": rnd.choice(HOSTILE_STRINGS)})["v"]
                        if "?" in template
                        else rnd.choice(HOSTILE_STRINGS).replace("/", "%2F").replace("?", "%3F").replace("#", "%23")
                    )
                    before = len(fake_ob1.chat_requests)
                    try:
                        response = client.get(path, headers=headers)
                    except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
                        continue  # a URL no client can send
                    route = path
                else:
                    route, seed_body = rnd.choice(pool)
                    body = mutate(seed_body, rnd)
                    before = len(fake_ob1.chat_requests)
                    response = client.post(
                        route, content=encode(body), headers={**headers, "content-type": "application/json"}
                    )
                response.read()
                statuses[response.status_code] += 1
                label = f"case {case} (seed {SEED}) {route} -> {response.status_code}"
                if response.status_code >= 500 and response.status_code != 502:
                    problems.append(f"{label}: {response.text[:300]}")
                elif response.status_code == 502 and len(fake_ob1.chat_requests) == before:
                    problems.append(f"{label}: a 502 without an upstream call: {response.text[:300]}")
                if response.status_code == 429:
                    problems.append(f"{label}: a parallel slot was left taken")
                if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
                    "application/json"
                ):
                    shape = _shape_problem(route, response)
                    if shape:
                        problems.append(f"{label}: {shape}")
                if len(fake_ob1.chat_requests) > before:
                    upstream_ids.append(response.headers["request-id"])
                if len(problems) > 20:
                    break
        gw.usage_records(len(upstream_ids), timeout=30)
        time.sleep(0.5)  # nothing more may arrive
        records = [r for r in gw.backends.usage_store.records() if r.key_id == record.key_id]
    finally:
        package.removeHandler(handler)
        package.setLevel(saved_level)
    print(f"fuzz (seed {SEED}): {sum(statuses.values())} cases, {dict(sorted(statuses.items()))}, "
          f"{len(upstream_ids)} reached the upstream")  # fmt: skip
    assert not problems, "\n".join(problems)
    assert sum(statuses.values()) >= CASES * 0.9
    assert sorted(r.request_id for r in records) == sorted(upstream_ids), "one usage record per upstream call"
    for log_record in handler.records:
        whole = json.dumps(log_record.__dict__, default=str)
        assert secret not in whole, whole[:500]
        assert not any(c in log_record.getMessage() for c in "\r\n\u2028"), log_record.getMessage()[:300]
        for value in (getattr(log_record, "request", None) or {}).values():
            assert not any(c in str(value) for c in "\r\n\u2028\x00"), value
