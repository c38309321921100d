"""What the operator of ``ob1gw serve`` sees: one readable line per request, warnings at start that name the
fixing command, and Prometheus metrics behind their own token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import faults as F
from tests.fixtures.gateway import GatewayHandle, served

METRICS_TOKEN = "metrics-token-for-the-operator"
A_BODY = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "x"}]}


def test_each_request_is_one_readable_line(tmp_path: Path, fake_ob1: Any) -> None:
    home = tmp_path / "home"
    with served(home, fake_ob1) as gw:
        response = httpx.post(
            gw.base_url + "/v1/messages",
            headers={"x-api-key": gw.key, "anthropic-version": "2023-06-01"},
            json={"model": "claude-sonnet-4-5", "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
        assert response.status_code == 200
        usage = fake_ob1.chat_requests[-1]["usage"]
        deadline = time.monotonic() + 10
        while "POST /v1/messages 200" not in (log := (home / "serve.log").read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
    [line] = [line for line in log.splitlines() if "POST /v1/messages 200" in line]
    expected = (
        f"key=served model=anthropic/claude-sonnet-4.5 in {usage['prompt_tokens']} out {usage['completion_tokens']}"
    )
    assert expected in line, line
    assert "$0.000" in line and " ms" in line
    assert gw.key not in log


def test_start_up_names_what_is_missing_and_the_command_that_fixes_it(tmp_path: Path, fake_ob1: Any) -> None:
    home = tmp_path / "empty"
    with served(home, fake_ob1, seed=False):
        pass
    output = (home / "serve.log").read_text()
    assert "no OB-1 login yet" in output and "`ob1gw login`" in output
    assert "no active caller keys" in output and "`ob1gw keys create NAME`" in output


@pytest.fixture
def metered_gw(tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    with F.start_gateway(tmp_path / "home", fake_ob1, metrics_token=METRICS_TOKEN) as handle:
        yield handle


def test_metrics_are_prometheus_text_for_the_operator_only(metered_gw: GatewayHandle, fake_ob1: Any) -> None:
    gw = metered_gw
    headers = {"x-api-key": gw.key, "anthropic-version": "2023-06-01"}
    for stream in (False, True):
        httpx.post(
            gw.base_url + "/v1/messages",
            headers=headers,
            json={
                "model": "claude-sonnet-4-5",
                "max_tokens": 16,
                "stream": stream,
                "messages": [{"role": "user", "content": "x"}],
            },
            timeout=30,
        ).raise_for_status()
    httpx.post(
        gw.base_url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {gw.key}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "y"}]},
        timeout=30,
    ).raise_for_status()
    fake_ob1.expire_all_tokens()  # the next call is refused upstream: one refresh, counted
    httpx.post(gw.base_url + "/v1/messages", headers=headers, json=A_BODY, timeout=30).raise_for_status()
    gw.usage_records(4)
    assert httpx.get(gw.base_url + "/metrics").status_code == 401
    assert httpx.get(gw.base_url + "/metrics", headers={"authorization": f"Bearer {gw.key}"}).status_code == 401
    response = httpx.get(gw.base_url + "/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    model = 'model="anthropic/claude-sonnet-4.5"'
    assert f'ob1gw_requests_total{{key="faults",{model},route="/v1/messages",status="200"}} 3.0' in text
    assert "ob1gw_token_refreshes_total 1.0" in text
    assert (
        'ob1gw_requests_total{key="faults",model="openai/gpt-4o-mini",route="/v1/chat/completions",status="200"} 1.0'
        in text
    )
    assert f'ob1gw_tokens_total{{key="faults",kind="input",{model}}}' in text
    assert "ob1gw_cost_usd_total" in text and "ob1gw_request_seconds_bucket" in text
    assert f'ob1gw_time_to_first_token_seconds_count{{{model},route="/v1/messages"}} 1.0' in text
    assert gw.key not in text and METRICS_TOKEN not in text


def test_metrics_leave_no_process_wide_hooks(metered_gw: GatewayHandle) -> None:
    """Each app's metrics hang off that app's recorder and token manager, never the process's hooks
    (which Powertools may use, and which outlive the app)."""
    from ob1_gateway.metering import recorder as metering
    from ob1_gateway.upstream import token

    assert not any(isinstance(v, list) for v in vars(metering).values()), "no module-level observer registry"
    assert not any(isinstance(v, list) and not k.startswith("__") for k, v in vars(token).items())


def test_metrics_are_off_unless_a_token_is_set(gateway: GatewayHandle) -> None:
    assert (
        httpx.get(gateway.base_url + "/metrics", headers={"authorization": f"Bearer {gateway.key}"}).status_code == 404
    )


def _log_line(home: Path, needle: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in (home / "serve.log").read_text().splitlines() if needle in line]
        if lines or time.monotonic() > deadline:
            assert len(lines) == 1, lines
            return lines[0]
        time.sleep(0.05)


def test_refused_requests_are_visible_and_never_billed(tmp_path: Path, fake_ob1: Any) -> None:
    """A malformed body, a forged key, an unknown model, an unknown path: each gets a request id, one log
    line naming its status, key and reason (never the key's secret), and a Prometheus count; none a usage
    record (nothing reached the upstream)."""
    home = tmp_path / "home"
    forged = "ob1gw_sk_" + "f" * 12 + "_" + "x" * 40
    anthropic = {"anthropic-version": "2023-06-01"}
    with served(home, fake_ob1, metrics_token=METRICS_TOKEN) as gw:
        chats_before = len(fake_ob1.chat_requests)
        refused = {
            "400": httpx.post(
                gw.base_url + "/v1/messages", headers={"x-api-key": gw.key, **anthropic}, json={"model": "x"}
            ),
            "401": httpx.post(gw.base_url + "/v1/messages", headers={"x-api-key": forged, **anthropic}, json=A_BODY),
            "404": httpx.post(
                gw.base_url + "/v1/chat/completions",
                headers={"authorization": f"Bearer {gw.key}"},
                json={"model": "gpt-5.4-nano", "messages": [{"role": "user", "content": "title"}]},
            ),
        }
        for status, response in refused.items():
            assert str(response.status_code) == status, response.text
            assert response.headers["request-id"] == response.headers["x-request-id"] != ""
        lines = {status: _log_line(home, f"id={r.headers['request-id']}") for status, r in refused.items()}
        metrics = httpx.get(gw.base_url + "/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}).text
        assert len(fake_ob1.chat_requests) == chats_before
        assert list(gw.backends.usage_store.records()) == []
    assert "POST /v1/messages 400 key=served refused: " in lines["400"] and "messages" in lines["400"]
    assert "POST /v1/messages 401 key=- refused: invalid API key;" in lines["401"]
    assert "POST /v1/chat/completions 404 key=served refused: model 'gpt-5.4-nano'" in lines["404"]
    log = (home / "serve.log").read_text()
    assert forged not in log and gw.key not in log
    route = 'route="/v1/chat/completions"'
    assert f'ob1gw_requests_total{{key="served",model="none",{route},status="404"}} 1.0' in metrics
    assert 'ob1gw_errors_total{key="none",model="none",route="/v1/messages",status="401"} 1.0' in metrics
    print(lines["404"])  # the closing note quotes one


def test_a_successful_requests_line_names_its_request_id(tmp_path: Path, fake_ob1: Any) -> None:
    """ "request-id X failed" can be traced from the log: a success's line carries ``id=`` like a refusal's."""
    home = tmp_path / "home"
    with served(home, fake_ob1) as gw:
        answered = httpx.post(
            gw.base_url + "/v1/messages",
            headers={"x-api-key": gw.key, "anthropic-version": "2023-06-01"},
            json=A_BODY,
            timeout=30,
        )
        assert answered.status_code == 200, answered.text
        line = _log_line(home, f"id={answered.headers['request-id']}")
    assert "POST /v1/messages 200 key=served" in line
