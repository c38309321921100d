"""The fake itself: its routes behave like OB-1/WorkOS so other tests can trust it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import jwt
import pytest

from tests.fakes import scripts as S
from tests.fakes.ob1_fake import DEFAULT_CLIENT_ID, DEVICE_GRANT, FakeOB1Remote, FakeOB1Server

ROOT = Path(__file__).resolve().parents[2]


def _auth(login: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {login['access_token']}:{login['organization_id']}"}


def _sse_events(text: str) -> list:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]


def test_models_require_a_live_token_and_org(fake_ob1: FakeOB1Server) -> None:
    login = fake_ob1.issue_login()
    ok = httpx.get(fake_ob1.upstream_url + "/models", headers=_auth(login))
    assert ok.status_code == 200
    ids = [m["id"] for m in ok.json()["data"]]
    assert "anthropic/claude-sonnet-4.5" in ids and "google/gemini-2.5-pro" in ids
    created = {m["id"]: m["created"] for m in ok.json()["data"]}
    assert created["anthropic/claude-sonnet-4.5"] > created["anthropic/claude-sonnet-4"]
    wrong_org = httpx.get(
        fake_ob1.upstream_url + "/models",
        headers={"Authorization": f"Bearer {login['access_token']}:org_other"},
    )
    assert wrong_org.status_code == 401
    fake_ob1.expire_all_tokens()
    dead = httpx.get(fake_ob1.upstream_url + "/models", headers=_auth(login))
    assert dead.status_code == 401 and dead.json()["error"]["code"] == 401


def test_expired_jwt_is_rejected(fake_ob1: FakeOB1Server) -> None:
    login = fake_ob1.issue_login(expires_in=-5)
    assert jwt.decode(login["access_token"], options={"verify_signature": False})["exp"] < login["expires_at"] + 1
    assert httpx.get(fake_ob1.upstream_url + "/models", headers=_auth(login)).status_code == 401


def test_refresh_tokens_are_single_use(fake_ob1: FakeOB1Server) -> None:
    login = fake_ob1.issue_login()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": login["refresh_token"],
        "client_id": DEFAULT_CLIENT_ID,
    }
    first = httpx.post(fake_ob1.auth_url + "/authenticate", data=form)
    assert first.status_code == 200
    body = first.json()
    assert body["refresh_token"] != login["refresh_token"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == body["user"]["id"] and claims["org_id"] == body["organization_id"]
    again = httpx.post(fake_ob1.auth_url + "/authenticate", data=form)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    bad_client = httpx.post(fake_ob1.auth_url + "/authenticate", data={**form, "client_id": "nope"})
    assert bad_client.json()["error"] == "invalid_client"
    assert fake_ob1.refresh_calls == 3


def test_device_flow_pending_then_tokens(fake_ob1: FakeOB1Server) -> None:
    fake_ob1.configure(device_pending_polls=2)
    start = httpx.post(fake_ob1.auth_url + "/authorize/device", data={"client_id": DEFAULT_CLIENT_ID}).json()
    assert {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    } <= set(start)
    form = {"grant_type": DEVICE_GRANT, "device_code": start["device_code"], "client_id": DEFAULT_CLIENT_ID}
    errors = [httpx.post(fake_ob1.auth_url + "/authenticate", data=form).json().get("error") for _ in range(2)]
    assert errors == ["authorization_pending", "authorization_pending"]
    final = httpx.post(fake_ob1.auth_url + "/authenticate", data=form)
    assert final.status_code == 200 and final.json()["access_token"]


def test_default_echo_stream_and_usage(fake_ob1: FakeOB1Server) -> None:
    login = fake_ob1.issue_login()
    body = {
        "model": "anthropic/claude-sonnet-4.5",
        "stream": True,
        "messages": [{"role": "user", "content": "hello fake"}],
    }
    response = httpx.post(fake_ob1.upstream_url + "/chat/completions", headers=_auth(login), json=body)
    assert response.text.startswith(": OPENROUTER PROCESSING")
    assert response.text.rstrip().endswith("data: [DONE]")
    events = _sse_events(response.text)
    text = "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])
    assert text == "Echo: hello fake"
    assert sum(1 for e in events for c in e["choices"] if c["delta"].get("content")) > 1
    assert events[-1]["choices"] == [] and events[-1]["usage"] == fake_ob1.chat_requests[-1]["usage"]
    raw_len = fake_ob1.chat_requests[-1]["raw_len"]
    assert events[-1]["usage"]["prompt_tokens"] == raw_len // 4
    assert fake_ob1.chat_requests[-1]["body"] == body


def test_default_tool_call_then_tool_result(fake_ob1: FakeOB1Server) -> None:
    login = fake_ob1.issue_login()
    tools = [{"type": "function", "function": {"name": "read_file", "parameters": {}}}]
    msgs = [{"role": "user", "content": 'please USE_TOOL read_file {"path": "/etc/hosts"}'}]
    call = httpx.post(
        fake_ob1.upstream_url + "/chat/completions",
        headers=_auth(login),
        json={"model": "openai/gpt-5", "messages": msgs, "tools": tools},
    ).json()
    tool_call = call["choices"][0]["message"]["tool_calls"][0]
    assert call["choices"][0]["finish_reason"] == "tool_calls"
    assert json.loads(tool_call["function"]["arguments"]) == {"path": "/etc/hosts"}
    msgs += [
        {"role": "assistant", "content": None, "tool_calls": [tool_call]},
        {"role": "tool", "tool_call_id": tool_call["id"], "content": "127.0.0.1 localhost"},
    ]
    answer = httpx.post(
        fake_ob1.upstream_url + "/chat/completions",
        headers=_auth(login),
        json={"model": "openai/gpt-5", "messages": msgs, "tools": tools},
    ).json()
    assert answer["choices"][0]["message"]["content"] == "Tool said: 127.0.0.1 localhost"
    assert answer["usage"]["cost"] > 0


def test_enqueued_scripts_run_in_order(fake_ob1: FakeOB1Server) -> None:
    login = fake_ob1.issue_login()
    fake_ob1.enqueue(S.parallel_tool_calls(), S.http_error(429, "slow down"), S.completion("scripted"))
    url, body = fake_ob1.upstream_url + "/chat/completions", {"model": "x", "messages": [], "stream": True}
    first = _sse_events(httpx.post(url, headers=_auth(login), json=body).text)
    indexes = [tc["index"] for e in first for c in e["choices"] for tc in c["delta"].get("tool_calls", [])]
    assert indexes[:2] == [0, 1] and indexes[2:4] == [0, 1]
    assert httpx.post(url, headers=_auth(login), json=body).status_code == 429
    third = httpx.post(url, headers=_auth(login), json=body).json()
    assert third["choices"][0]["message"]["content"] == "scripted"
    assert [r["scripted"] for r in fake_ob1.chat_requests] == [True, True, True]


def test_standalone_process_and_remote_admin() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.ob1_fake", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        remote = FakeOB1Remote(url)
        login = remote.issue_login()
        assert httpx.get(remote.upstream_url + "/models", headers=_auth(login)).status_code == 200
        remote.expire_all_tokens()
        assert httpx.get(remote.upstream_url + "/models", headers=_auth(login)).status_code == 401
        remote.enqueue_named("reasoning")
        login = remote.issue_login()
        text = httpx.post(
            remote.upstream_url + "/chat/completions",
            headers=_auth(login),
            json={"model": "m", "messages": [], "stream": True},
        ).text
        assert S.REASONING_SIGNATURE in text
        assert len(remote.requests) == 3
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("name", sorted(S.NAMED))
def test_named_scripts_are_wellformed_sse(fake_ob1: FakeOB1Server, name: str) -> None:
    login = fake_ob1.issue_login()
    fake_ob1.enqueue(S.NAMED[name]())
    text = httpx.post(
        fake_ob1.upstream_url + "/chat/completions",
        headers=_auth(login),
        json={"model": "m", "messages": [], "stream": True},
    ).text
    assert text.rstrip().endswith("data: [DONE]")
    assert all(line == "" or line.startswith(("data: ", ": ")) for line in text.splitlines())
