"""The guarantees an admin relies on, tried as a member with a restricted key and as a stranger would, over
HTTP against the gateway under uvicorn, on the local and the AWS backend (issue 29): the key's policy is
checked on what goes upstream, no upstream call escapes the meter, bounded work before admission, logs
that can neither leak nor lie, no 5xx from client input, key writes that cannot undo each other."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ob1_gateway.access.keys import issue_key, rotate_key
from ob1_gateway.stores.base import KeyPolicy

from tests.fakes import faults as F
from tests.fixtures.gateway import GatewayHandle


@pytest.fixture(params=["local", "aws"])
def gw(request: pytest.FixtureRequest, tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    if request.param == "aws":
        request.getfixturevalue("aws_env")
    with F.start_gateway(tmp_path / "home", fake_ob1, key_cache_ttl_seconds=0, max_retries=0) as handle:
        assert handle.settings.backend == request.param
        yield handle


def key_with(gw: GatewayHandle, **policy: Any) -> tuple[str, str]:
    record, key = issue_key("member", policy=KeyPolicy(**policy))
    gw.backends.key_store.put(record)
    return record.key_id, key


def messages(
    gw: GatewayHandle, key: str, model: str, headers: dict[str, str] | None = None, **extra: Any
) -> httpx.Response:
    body = {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}], **extra}
    sent = {"x-api-key": key, "anthropic-version": "2023-06-01", **(headers or {})}
    return httpx.post(gw.base_url + "/v1/messages", json=body, headers=sent, timeout=30)


def chat(gw: GatewayHandle, key: str, body: dict[str, Any]) -> httpx.Response:
    full = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], **body}
    return httpx.post(gw.base_url + "/v1/chat/completions", json=full, headers={"authorization": f"Bearer {key}"})


def responses(gw: GatewayHandle, key: str, body: dict[str, Any]) -> httpx.Response:
    full = {"model": "gpt-4o-mini", "input": "hi", **body}
    return httpx.post(gw.base_url + "/v1/responses", json=full, headers={"authorization": f"Bearer {key}"}, timeout=30)


# ---- 1. policy on the wire ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("patterns", "asked"),
    [
        (("anthropic/claude-haiku*",), "anthropic/claude-haiku-opus"),  # the family fallback picks opus
        (("openai/gpt-4o*",), "openai/gpt-4o-claude-opus"),
        (("claude-haiku*",), "claude-haiku-sonnet-9"),
    ],
)
def test_the_family_fallback_never_widens_a_key_s_models(
    gw: GatewayHandle, fake_ob1: Any, patterns: tuple[str, ...], asked: str
) -> None:
    _, key = key_with(gw, models=patterns)
    refused = messages(gw, key, asked)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["type"] == "permission_error"
    assert fake_ob1.chat_requests == [], "nothing reached the upstream"
    _, haiku = key_with(gw, models=("anthropic/claude-haiku*",))
    served = messages(gw, haiku, "claude-haiku-4-5-20251001")
    assert served.status_code == 200 and served.headers["x-ob1gw-model"] == "anthropic/claude-haiku-4.5"


def test_an_admin_alias_maps_a_name_but_never_past_the_key_s_models(tmp_path: Path, fake_ob1: Any) -> None:
    aliases = {"gpt-4o-mini": "anthropic/claude-opus-4.1", "cheap": "openai/gpt-4o-mini"}
    with F.start_gateway(tmp_path / "home", fake_ob1, model_aliases=aliases) as gw:
        _, key = key_with(gw, models=("openai/*",))
        refused = chat(gw, key, {"model": "gpt-4o-mini"})
        assert refused.status_code == 403 and "anthropic/claude-opus-4.1" in refused.json()["error"]["message"]
        assert fake_ob1.chat_requests == []
        served = chat(gw, key, {"model": "cheap"})
        assert served.status_code == 200 and served.headers["x-ob1gw-model"] == "openai/gpt-4o-mini"


@pytest.mark.parametrize("field", ["models", "provider", "route", "plugins", "transforms", "web_search_options"])
def test_routing_and_paid_chat_fields_are_refused_by_name(gw: GatewayHandle, fake_ob1: Any, field: str) -> None:
    value: Any = {
        "models": ["anthropic/claude-opus-4.1"],
        "provider": {"order": ["Anthropic"]},
        "route": "fallback",
        "plugins": [{"id": "web"}],
        "transforms": ["middle-out"],
        "web_search_options": {},
    }[field]
    refused = chat(gw, gw.key, {field: value})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["param"] == field and field in error["message"]
    assert fake_ob1.chat_requests == []


def test_an_allowed_models_list_is_checked_entry_by_entry(tmp_path: Path, fake_ob1: Any) -> None:
    with F.start_gateway(tmp_path / "home", fake_ob1, chat_allowed_fields="models,provider") as gw:
        _, key = key_with(gw, models=("openai/*",))
        refused = chat(gw, key, {"models": ["openai/gpt-5", "anthropic/claude-opus-4.1"]})
        assert refused.status_code == 403 and "claude-opus" in refused.json()["error"]["message"]
        assert fake_ob1.chat_requests == []
        served = chat(gw, key, {"models": ["gpt-5"], "provider": {"order": ["OpenAI"]}})
        assert served.status_code == 200, served.text
        sent = fake_ob1.chat_requests[-1]["body"]
        assert sent["models"] == ["openai/gpt-5"], "each entry resolved, as the model is"
        assert sent["provider"] == {"order": ["OpenAI"]}
        assert "plugins" not in sent
        assert chat(gw, key, {"plugins": [{"id": "web"}]}).status_code == 400


# ---- 2. no upstream call escapes the meter --------------------------------------------------------------
@pytest.mark.parametrize("kind", ["\u4e2d", "web\r\nx-evil: 1", "a\x00b", ["web_search"], {"t": 1}])
@pytest.mark.parametrize("stream", [False, True])
def test_a_hostile_tool_type_is_refused_before_the_upstream(
    gw: GatewayHandle, fake_ob1: Any, kind: Any, stream: bool
) -> None:
    _key_id, key = key_with(gw, max_parallel=1)
    refused = responses(gw, key, {"tools": [{"type": kind}], "stream": stream})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"].startswith("tools[0]")
    assert fake_ob1.chat_requests == []
    ok = responses(gw, key, {"tools": [{"type": "web_search"}], "stream": stream})
    assert ok.status_code == 200 and ok.headers["x-ob1gw-omitted-tools"] == "web_search"
    assert len(gw.usage_records(1)) == 1
    assert responses(gw, key, {}).status_code == 200, "the parallel slot was freed"


class _SocketDiesAtStart:
    """The connection dies as the response starts (``send`` raises, as a socket's send does): the
    response's body iterator never starts."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (b"x-test-die", b"1") not in scope["headers"]:
            return await self.app(scope, receive, send)

        async def dying(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                raise OSError("connection reset by peer")
            await send(message)

        with contextlib.suppress(OSError):
            await self.app(scope, receive, dying)


@pytest.mark.parametrize("backend", ["local", "aws"])
def test_a_stream_whose_body_never_starts_is_recorded_and_frees_its_slot(
    request: pytest.FixtureRequest, tmp_path: Path, fake_ob1: Any, backend: str
) -> None:
    """Only the structural settlement can record this upstream call and free the key's one parallel slot."""
    if backend == "aws":
        request.getfixturevalue("aws_env")
    with F.start_gateway(tmp_path / "home", fake_ob1, key_cache_ttl_seconds=0, wrap=_SocketDiesAtStart) as gw:
        key_id, key = key_with(gw, max_parallel=1)
        # uvicorn answers 500 for an app that started no response: the client here stands for one long gone
        messages(gw, key, "claude-sonnet-4-5", stream=True, headers={"x-test-die": "1"})
        assert len(fake_ob1.chat_requests) == 1, "the upstream was called"
        records = gw.usage_records(1, timeout=10)
        assert [(r.key_id, r.status, r.estimated) for r in records] == [(key_id, 499, True)]
        assert records[0].input_tokens > 0, "the upstream saw the prompt: it is billed"
        assert messages(gw, key, "claude-sonnet-4-5").status_code == 200, "the parallel slot was freed"


# ---- 3. bounded work: stored conversations ---------------------------------------------------------------
def test_stored_conversations_keep_only_what_the_gateway_uses(gw: GatewayHandle) -> None:
    junk = "j" * 200_000
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi", "junk": junk}]}
    first = responses(gw, gw.key, {"input": [{**item, "junk": junk}]})
    assert first.status_code == 200, first.text
    previous = first.json()["id"]
    for _ in range(3):
        turn = responses(gw, gw.key, {"input": [{**item, "junk": junk}], "previous_response_id": previous})
        assert turn.status_code == 200, turn.text
        previous = turn.json()["id"]
    stored = gw.backends.response_store.get(gw.key_id, previous) if gw.backends.response_store else None
    assert stored is not None and stored.size < 20_000, stored and stored.size
    assert all("junk" not in json.dumps(i) for i in stored.input_items)


def test_a_conversation_past_the_size_cap_is_a_400_naming_it(tmp_path: Path, fake_ob1: Any) -> None:
    with F.start_gateway(tmp_path / "home", fake_ob1, responses_max_conversation_bytes=4096) as gw:
        first = responses(gw, gw.key, {"input": "x" * 5000})
        assert first.status_code == 200
        body = {"model": "gpt-4o-mini", "input": "more", "previous_response_id": first.json()["id"]}
        for path in ("/v1/responses", "/v1/responses/input_tokens"):
            refused = httpx.post(gw.base_url + path, json=body, headers={"authorization": f"Bearer {gw.key}"})
            assert refused.status_code == 400, (path, refused.text)
            error = refused.json()["error"]
            assert error["param"] == "previous_response_id"
            assert "OB1GW_RESPONSES_MAX_CONVERSATION_BYTES" in error["message"]


# ---- 5. no 5xx from client input ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/responses", {"model": "gpt-4o-mini", "input": [{"type": ["message"], "role": "user"}]}, "input"),
        ("/v1/responses", {"model": "gpt-4o-mini", "input": [{"type": {"a": 1}}]}, "input"),
        ("/v1/responses/input_tokens", {"model": "gpt-4o-mini", "input": [{"type": ["x"]}]}, "input"),
        ("/v1/responses/input_tokens", {"model": "gpt-4o-mini", "input": "x", "tools": [{"type": ["x"]}]}, "tools"),
        (
            "/v1/chat/completions",
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "frequency_penalty": 1e999},
            "frequency_penalty",
        ),
        (
            "/v1/chat/completions",
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "seed": 10**30},
            "seed",
        ),
    ],
)
def test_hostile_values_are_a_400_naming_the_field(
    gw: GatewayHandle, fake_ob1: Any, path: str, body: dict[str, Any], param: str
) -> None:
    raw = json.dumps(body).replace("Infinity", "1e999")
    response = httpx.post(
        gw.base_url + path,
        content=raw,
        headers={"authorization": f"Bearer {gw.key}", "content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["param"] or "").startswith(param), error
    assert fake_ob1.chat_requests == []


@pytest.mark.parametrize("month", ["9999-12", "0000-01", "1969-12", "2026-13"])
def test_usage_months_out_of_range_are_a_400(gw: GatewayHandle, month: str) -> None:
    headers = {"authorization": f"Bearer {gw.key}"}
    response = httpx.get(gw.base_url + "/v1/usage", params={"month": month}, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["param"] == "month"


def test_a_non_ascii_model_list_limit_is_a_400(gw: GatewayHandle) -> None:
    headers = {"x-api-key": gw.key, "anthropic-version": "2023-06-01"}
    response = httpx.get(gw.base_url + "/v1/models?limit=%C2%B2", headers=headers)
    assert response.status_code == 400 and response.json()["type"] == "error"


def test_metrics_with_a_non_ascii_bearer_is_a_401(tmp_path: Path, fake_ob1: Any) -> None:
    with F.start_gateway(tmp_path / "home", fake_ob1, metrics_token="s3cret-metrics") as gw:
        bad = httpx.get(gw.base_url + "/metrics", headers={"authorization": b"Bearer \xff\xfe"})
        assert bad.status_code == 401
        good = httpx.get(gw.base_url + "/metrics", headers={"authorization": "Bearer s3cret-metrics"})
        assert good.status_code == 200


def test_a_client_gone_mid_body_is_a_499_line_not_an_error(gw: GatewayHandle, caplog: pytest.LogCaptureFixture) -> None:
    host, port = gw.base_url.removeprefix("http://").split(":")
    with caplog.at_level(logging.INFO):
        with socket.create_connection((host, int(port))) as sock:
            head = (
                f"POST /v1/messages HTTP/1.1\r\nhost: {host}\r\nx-api-key: {gw.key}\r\n"
                "content-type: application/json\r\ncontent-length: 100000\r\n\r\n"
            )
            sock.sendall(head.encode() + b'{"model": "claude-sonnet-4-5", "messages": [')
            time.sleep(0.3)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(r.getMessage() == "request" for r in caplog.records):
            time.sleep(0.05)
    lines = [r for r in caplog.records if r.name.startswith("ob1_gateway")]
    assert [getattr(r, "request", {}).get("status") for r in lines] == [499], [r.__dict__ for r in lines]
    assert not [r for r in lines if r.levelno >= logging.ERROR]


# ---- 4. logs that can neither leak nor lie ---------------------------------------------------------------
def test_request_log_lines_never_hold_a_key_or_a_line_break(
    gw: GatewayHandle, caplog: pytest.LogCaptureFixture
) -> None:
    secret = gw.key
    with caplog.at_level(logging.INFO):
        httpx.get(f"{gw.base_url}/{secret}/v1/models", headers={"x-api-key": secret})
        httpx.get(f"{gw.base_url}/v1/models/{secret}", headers={"x-api-key": secret})
        forged = "/v1/%0a2026-12-01%20INFO%20ob1_gateway.requests%20FORGED%0d%e2%80%a8x"
        httpx.get(gw.base_url + forged, headers={"x-api-key": secret})
        time.sleep(0.3)
    records = [r for r in caplog.records if r.name.startswith("ob1_gateway")]
    assert len([r for r in records if r.getMessage() == "request"]) >= 3
    for record in records:
        whole = json.dumps(record.__dict__, default=str)
        assert secret not in whole and secret.split("_")[2] not in whole, whole
        for field in (record.getMessage(), *map(str, getattr(record, "request", {}).values())):
            assert not any(c in field for c in "\r\n\u2028"), field


# ---- 6. key writes that cannot undo each other ----------------------------------------------------------
def test_an_update_after_a_rotation_does_not_undo_it(gw: GatewayHandle) -> None:
    key_id, old = key_with(gw)
    store = gw.backends.key_store
    read = store.get(key_id)
    assert read is not None
    sha, policy, new = rotate_key(read, grace_seconds=0)
    assert store.set_secret_and_policy(key_id, sha, policy, expected_sha256=read.secret_sha256)
    # an update that read the key before the rotation must not write the old secret back
    assert not store.set_secret_and_policy(key_id, read.secret_sha256, read.policy, expected_sha256=read.secret_sha256)
    stored = store.get(key_id)
    assert stored is not None and stored.secret_sha256 == sha
    assert messages(gw, old, "claude-sonnet-4-5").status_code == 401
    assert messages(gw, new, "claude-sonnet-4-5").status_code == 200


# ---- 7. the local database is the owner's only -----------------------------------------------------------
def test_the_sqlite_database_is_0600_in_a_folder_made_beforehand(tmp_path: Path, fake_ob1: Any) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    old = os.umask(0o022)
    try:
        with F.start_gateway(home, fake_ob1) as gw:
            assert messages(gw, gw.key, "claude-sonnet-4-5").status_code == 200
            for file in home.glob("gateway.sqlite3*"):
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        os.umask(old)


def test_the_api_documentation_answers_only_when_asked(tmp_path: Path, fake_ob1: Any) -> None:
    with F.start_gateway(tmp_path / "home", fake_ob1) as gw:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert httpx.get(gw.base_url + path).status_code == 404, path
    with F.start_gateway(tmp_path / "home2", fake_ob1, api_docs=True) as gw:
        assert httpx.get(gw.base_url + "/openapi.json").status_code == 200
