"""Powertools on AWS: EMF blobs (names, units, dimensions) captured from stdout, the correlation id on
JSON log lines (Mangum event and LWA header), token refreshes counted; and nothing of it locally."""

from __future__ import annotations

import importlib.util
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ob1_gateway.access.keys import issue_key
from ob1_gateway.app import create_app
from ob1_gateway.stores.backends import build_backends
from ob1_gateway.stores.base import OB1Token
from ob1_gateway.telemetry import powertools as observability

from tests.fixtures.gateway import UvicornThread, gateway_settings, seeded_from_env
from tests.fixtures.moto_server import REPO

REQUEST_METRICS = {
    "Requests": "Count",
    "Errors": "Count",
    "InputTokens": "Count",
    "OutputTokens": "Count",
    "CacheReadTokens": "Count",
    "CostUSD": "None",
    "WebSearches": "Count",
    "WebFetches": "Count",
    "UpstreamLatency": "Milliseconds",
}
DIMENSIONS = {"service", "model", "route", "status"}


@pytest.fixture(autouse=True)
def clean_observability(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "OB1GatewayTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ob1-gateway")
    observability.reset()
    yield
    observability.reset()


def _json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _emf(text: str) -> list[dict[str, Any]]:
    return [blob for blob in _json_lines(text) if "_aws" in blob]


def _value(blob: dict[str, Any], name: str) -> float:
    value = blob[name]
    return value[0] if isinstance(value, list) else value


def _metric_defs(blob: dict[str, Any]) -> dict[str, str]:
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "OB1GatewayTest"
    return {m["Name"]: m["Unit"] for m in directive["Metrics"]}


def _dimensions(blob: dict[str, Any]) -> set[str]:
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    (dims,) = directive["Dimensions"]
    return set(dims)


@pytest.fixture
def observed_gateway(tmp_path: Path, fake_ob1: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    monkeypatch.setenv("OB1GW_POWERTOOLS", "1")
    settings = gateway_settings(tmp_path / "home", fake_ob1)
    backends = build_backends(settings)
    backends.token_store.save(OB1Token.from_dict(fake_ob1.issue_login()))
    record, key = issue_key("observed")
    backends.key_store.put(record)
    with UvicornThread(create_app(settings, backends)) as server:
        yield f"http://127.0.0.1:{server.port}", key


def _wait_for(capsys: pytest.CaptureFixture[str], predicate: Any, timeout: float = 5.0) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while True:
        seen += capsys.readouterr().out
        if predicate(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.02)


def test_emf_per_request_with_low_cardinality_dimensions(
    observed_gateway: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base, key = observed_gateway
    headers = {"authorization": f"Bearer {key}"}
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "metrics"}]}
    assert httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers).status_code == 200
    assert httpx.post(f"{base}/v1/chat/completions", json={**body, "stream": True}, headers=headers).status_code == 200
    out = _wait_for(capsys, lambda s: len(_emf(s)) >= 2)
    plain, streamed = sorted(_emf(out), key=lambda b: "TimeToFirstToken" in _metric_defs(b))

    assert _metric_defs(plain) == REQUEST_METRICS
    assert _metric_defs(streamed) == {**REQUEST_METRICS, "TimeToFirstToken": "Milliseconds"}
    for blob in (plain, streamed):
        assert _dimensions(blob) == DIMENSIONS
        assert blob["model"] == "openai/gpt-4o-mini" and blob["route"] == "/v1/chat/completions"
        assert blob["status"] == "200" and blob["service"] == "ob1-gateway"
        assert _value(blob, "Requests") == 1 and _value(blob, "Errors") == 0
        assert _value(blob, "InputTokens") > 0 and _value(blob, "OutputTokens") > 0 and _value(blob, "CostUSD") > 0
        assert _value(blob, "UpstreamLatency") > 0
        assert key not in json.dumps(blob) and "key_id" not in json.dumps(blob)  # never per key
    assert 0 < _value(streamed, "TimeToFirstToken") <= _value(streamed, "UpstreamLatency")


def test_refused_requests_count_as_errors(
    observed_gateway: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = observed_gateway
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
    assert httpx.post(f"{base}/v1/chat/completions", json=body).status_code == 401
    assert httpx.get(f"{base}/wp-admin/{uuid.uuid4().hex}").status_code in (401, 404)
    blobs = _emf(_wait_for(capsys, lambda s: len(_emf(s)) >= 2))
    assert next((b["route"], b["status"], _value(b, "Requests"), _value(b, "Errors")) for b in blobs) == (
        "/v1/chat/completions",
        "401",
        1,
        1,
    )
    assert blobs[1]["route"] == "other"  # arbitrary paths never become dimension values
    for blob in blobs:
        assert _metric_defs(blob) == {"Requests": "Count", "Errors": "Count"} and _dimensions(blob) == DIMENSIONS


def test_lwa_request_context_is_the_correlation_id(
    observed_gateway: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base, key = observed_gateway
    headers = {
        "authorization": f"Bearer {key}",
        "x-amzn-request-context": json.dumps({"requestId": "apigw-req-123", "stage": "prod"}),
    }
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "correlate"}]}
    assert httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers).status_code == 200
    out = _wait_for(capsys, lambda s: any(line.get("message") == "usage" for line in _json_lines(s)))
    (line,) = [line for line in _json_lines(out) if line.get("message") == "usage"]
    assert line["correlation_id"] == "apigw-req-123"
    assert line["level"] == "INFO" and line["service"] == "ob1-gateway"
    usage = line["usage"]
    assert {"key_id", "model", "input_tokens", "output_tokens", "cost_usd", "status", "latency_ms", "stream"} <= set(
        usage
    )
    assert usage["stream"] is False and usage["status"] == 200 and key not in out


def test_token_refreshes_are_counted(
    tmp_path: Path, fake_ob1: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OB1GW_POWERTOOLS", "1")
    settings = gateway_settings(tmp_path / "home", fake_ob1)
    backends = build_backends(settings)
    backends.token_store.save(OB1Token.from_dict(fake_ob1.issue_login(expires_in=5)))  # inside the margin
    record, key = issue_key("refresh")
    backends.key_store.put(record)
    with UvicornThread(create_app(settings, backends)) as server:
        resp = httpx.get(f"http://127.0.0.1:{server.port}/v1/models", headers={"authorization": f"Bearer {key}"})
        assert resp.status_code == 200
    (blob,) = [b for b in _emf(capsys.readouterr().out) if "TokenRefreshes" in b]
    assert _metric_defs(blob) == {"TokenRefreshes": "Count"} and _value(blob, "TokenRefreshes") == 1
    assert _dimensions(blob) == {"service"}


def test_local_runs_emit_no_emf(tmp_path: Path, fake_ob1: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    for name in ("OB1GW_POWERTOOLS", "AWS_LAMBDA_FUNCTION_NAME", "OB1GW_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    settings = gateway_settings(tmp_path / "home", fake_ob1)
    assert not observability.wanted(settings)
    backends = build_backends(settings)
    backends.token_store.save(OB1Token.from_dict(fake_ob1.issue_login()))
    record, key = issue_key("local")
    backends.key_store.put(record)
    app = create_app(settings, backends)
    with UvicornThread(app) as server:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "quiet"}]}
        url = f"http://127.0.0.1:{server.port}/v1/chat/completions"
        assert httpx.post(url, json=body, headers={"authorization": f"Bearer {key}"}).status_code == 200
        time.sleep(0.3)
    assert not observability.enabled()
    gateway = app.state.gateway
    assert observability.REQUEST_METRICS not in gateway.recorder.listeners
    assert observability.count_token_refresh not in gateway.upstream.tokens.refresh_listeners
    assert _emf(capsys.readouterr().out) == []


def test_enabled_on_aws_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OB1GW_POWERTOOLS", raising=False)
    monkeypatch.delenv("OB1GW_BACKEND", raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "StreamFunction")
    assert observability.wanted()
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    monkeypatch.setenv("OB1GW_BACKEND", "aws")
    assert observability.wanted()
    monkeypatch.setenv("OB1GW_POWERTOOLS", "0")
    assert not observability.wanted()


def test_request_id_sources() -> None:
    assert observability.request_id({"aws.event": {"requestContext": {"requestId": "mangum-1"}}}) == "mangum-1"
    header = [(b"x-amzn-request-context", b'{"requestId": "lwa-1"}')]
    assert observability.request_id({"headers": header}) == "lwa-1"
    assert observability.request_id({"headers": [(b"x-amzn-request-context", b"not json")]}) is None
    assert observability.request_id({"headers": []}) is None


def test_mangum_handler_logs_json_with_the_api_gateway_request_id(
    aws_env: dict[str, str], fake_ob1: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """functions/api/app.py as Lambda runs it: the event's requestContext.requestId on the usage line."""
    _, _, key = seeded_from_env(fake_ob1, monkeypatch, "mangum")
    spec = importlib.util.spec_from_file_location(f"api_{uuid.uuid4().hex}", REPO / "functions" / "api" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    event = json.loads((REPO / "events" / "messages.json").read_text())
    event["headers"]["x-api-key"] = key
    event["multiValueHeaders"]["x-api-key"] = [key]
    event["requestContext"]["requestId"] = "rest-req-42"

    class Context:
        function_name = "ApiFunction"
        function_version = "$LATEST"
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
        aws_request_id = "lambda-req-1"

    response = module.handler(event, Context())
    assert response["statusCode"] == 200
    out = capsys.readouterr().out
    (usage,) = [line for line in _json_lines(out) if line.get("message") == "usage"]
    assert usage["correlation_id"] == "rest-req-42" and usage["function_name"] == "ApiFunction"
    (blob,) = _emf(out)
    assert blob["route"] == "/v1/messages" and blob["status"] == "200" and _dimensions(blob) == DIMENSIONS


@pytest.mark.parametrize("name", ["OB1GW_TRACER", "OB1GW_POWERTOOLS"])
def test_a_switch_that_is_not_a_boolean_stops_the_gateway(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A typo is an error naming the variable, never a silent "off"."""
    from ob1_gateway.settings import SettingsError, load_settings

    monkeypatch.setenv(name, "yes-please")
    with pytest.raises(SettingsError, match=name):
        load_settings()
    with pytest.raises(SettingsError, match=name):
        observability.setup()
    assert not observability.enabled()


def test_aws_set_names_are_read_through_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from ob1_gateway.settings import load_settings

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "StreamFunction")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "svc")
    settings = load_settings()
    assert settings.in_lambda and settings.service_name == "svc" and settings.powertools_wanted
    monkeypatch.setenv("OB1GW_POWERTOOLS", "off")
    assert not load_settings().powertools_wanted


def test_an_empty_switch_is_an_unset_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from ob1_gateway.settings import load_settings

    monkeypatch.setenv("OB1GW_TRACER", "")
    monkeypatch.setenv("OB1GW_POWERTOOLS", "")
    settings = load_settings()
    assert settings.tracer is False and settings.powertools is None


def test_unmetered_requests_are_counted_and_logged_as_json(
    observed_gateway: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """On AWS a refusal is a JSON ``request`` line (status, key name, reason; no secret) and an EMF blob;
    a request that succeeds without a usage record (``/v1/models``) counts as a request, not an error."""
    base, key = observed_gateway
    headers = {"authorization": f"Bearer {key}"}
    unknown = {"model": "gpt-5.4-nano", "messages": [{"role": "user", "content": "title"}]}
    refused = httpx.post(f"{base}/v1/chat/completions", json=unknown, headers=headers)
    assert refused.status_code == 404
    assert httpx.get(f"{base}/v1/models", headers=headers).status_code == 200
    out = _wait_for(capsys, lambda s: len(_emf(s)) >= 2)
    by_status = {b["status"]: b for b in _emf(out)}
    assert _metric_defs(by_status["404"]) == {"Requests": "Count", "Errors": "Count"}
    assert by_status["404"]["model"] == "none" and by_status["404"]["route"] == "/v1/chat/completions"
    assert _metric_defs(by_status["200"]) == {"Requests": "Count"} and by_status["200"]["route"] == "/v1/models"
    lines = {line["request"]["status"]: line for line in _json_lines(out) if line.get("message") == "request"}
    line = lines[404]["request"]
    assert line["request_id"] == refused.headers["request-id"] and line["key_name"] == "observed"
    assert line["reason"] == "model 'gpt-5.4-nano' is not available on the upstream"
    assert lines[200]["request"]["reason"] == "" and key not in out
