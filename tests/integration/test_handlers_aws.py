"""The Lambda handlers as Lambda runs them: Mangum fed the events/*.json API Gateway events, the
stream function's run.sh serving real HTTP, and the keeper fed the scheduled event. The AWS backend
is moto's server and the upstream is the fake OB-1, so every hop is a real socket."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from ob1_gateway.stores.base import Backends, OB1Token

from tests.fakes.ob1_fake import FakeOB1Server
from tests.fixtures.gateway import free_port, seeded_from_env, wait_until_healthy
from tests.fixtures.moto_server import REPO

EVENTS = REPO / "events"
API_EVENTS = {  # event file -> status through ApiFunction (Mangum)
    "health.json": 200,
    "models.json": 200,
    "count_tokens.json": 200,
    "messages.json": 200,  # buffered variants work through Mangum too (sam local, tests)
    "chat_completions.json": 200,
}


@dataclass
class LambdaEnv:
    key: str
    key_id: str
    backends: Backends
    fake: FakeOB1Server
    env: dict[str, str]


@pytest.fixture
def lambda_env(aws_env: dict[str, str], fake_ob1: FakeOB1Server, monkeypatch: pytest.MonkeyPatch) -> LambdaEnv:
    """The environment template.yaml gives the functions, pointed at moto and the fake OB-1."""
    env = {
        **aws_env,
        **fake_ob1.env(),
        "POWERTOOLS_SERVICE_NAME": "ob1-gateway",
        "POWERTOOLS_METRICS_NAMESPACE": "OB1GatewayTest",
        "LOG_LEVEL": "INFO",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    backends, record, key = seeded_from_env(fake_ob1, monkeypatch, "lambda-tester")
    return LambdaEnv(key, record.key_id, backends, fake_ob1, env)


def _load(path: Path) -> ModuleType:
    """Import a handler file the way Lambda does (module scope runs now), under a unique name."""
    spec = importlib.util.spec_from_file_location(f"handler_{uuid.uuid4().hex}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _event(name: str, key: str | None) -> dict[str, Any]:
    event = json.loads((EVENTS / name).read_text())
    if key is not None:
        event["headers"]["x-api-key"] = key
        event["multiValueHeaders"]["x-api-key"] = [key]
    return event


@dataclass
class FakeContext:
    function_name: str = "TokenKeeperFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:TokenKeeperFunction"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


# ---- ApiFunction (Mangum) ----------------------------------------------------------------------------


@pytest.fixture
def api_handler(lambda_env: LambdaEnv) -> Any:
    return _load(REPO / "functions" / "api" / "app.py").handler


@pytest.mark.parametrize("name", sorted(API_EVENTS))
def test_api_function_routes(name: str, lambda_env: LambdaEnv, api_handler: Any) -> None:
    response = api_handler(_event(name, lambda_env.key), FakeContext())
    assert response["statusCode"] == API_EVENTS[name], response
    body = json.loads(response["body"])
    if name == "models.json":
        # the event is an Anthropic caller's (x-api-key): Anthropic-style ids, the upstream's beside them
        assert any(
            m["id"] == "claude-sonnet-4-5" and m["upstream_id"] == "anthropic/claude-sonnet-4.5" for m in body["data"]
        )
    if name == "count_tokens.json":
        assert body["input_tokens"] > 0


def test_api_function_usage_route(lambda_env: LambdaEnv, api_handler: Any) -> None:
    """GET /v1/usage: served once the usage router exists, else the app's own 404 (never a 5xx)."""
    response = api_handler(_event("usage.json", lambda_env.key), FakeContext())
    app = _load(REPO / "functions" / "api" / "app.py").app
    has_route = "/v1/usage" in app.openapi()["paths"]  # included routers are nested in app.routes
    assert response["statusCode"] == (200 if has_route else 404), response
    if not has_route:
        assert "error" in json.loads(response["body"])


def test_api_function_writes_usage_before_returning(lambda_env: LambdaEnv, api_handler: Any) -> None:
    """Lambda freezes right after the handler returns, so the usage record must already be stored."""
    response = api_handler(_event("messages.json", lambda_env.key), FakeContext())
    assert response["statusCode"] == 200
    records = list(lambda_env.backends.usage_store.records())  # no polling: it must be there now
    assert [(r.key_id, r.route, r.status, r.stream) for r in records] == [
        (lambda_env.key_id, "/v1/messages", 200, False)
    ]


def test_api_function_rejects_the_placeholder_key(lambda_env: LambdaEnv, api_handler: Any) -> None:
    response = api_handler(_event("models.json", None), FakeContext())
    assert response["statusCode"] == 401
    assert "error" in json.loads(response["body"])


def test_api_function_fallback_route_answers_in_api_shape(lambda_env: LambdaEnv, api_handler: Any) -> None:
    event = _event("health.json", lambda_env.key)
    event.update(path="/v1/nope", resource="/{proxy+}", pathParameters={"proxy": "v1/nope"})
    response = api_handler(event, FakeContext())
    assert response["statusCode"] == 404
    assert "error" in json.loads(response["body"])


def test_api_function_after_a_snapstart_restore(lambda_env: LambdaEnv) -> None:
    """What one restored copy of the snapshot does before it serves: a new random state (a restored
    copy must not replay its siblings' jitter) and new upstream pools; then it answers as before."""
    import random

    from ob1_gateway.hosting.aws_lambda import after_restore

    module = _load(REPO / "functions" / "api" / "app.py")
    gateway = module.app.state.gateway
    pools = gateway.upstream.http
    snapshot = random.getstate()
    after_restore(module.app)
    assert random.getstate() != snapshot
    assert gateway.upstream.http is not pools
    response = module.handler(_event("models.json", lambda_env.key), FakeContext())
    assert response["statusCode"] == 200, response


# ---- StreamFunction (run.sh -> uvicorn, as LWA starts it) --------------------------------------------


@pytest.fixture
def stream_server(lambda_env: LambdaEnv, request: pytest.FixtureRequest) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        **lambda_env.env,
        **getattr(request, "param", {}),
        "AWS_LWA_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    proc = subprocess.Popen(["bash", str(REPO / "functions" / "stream" / "run.sh")], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc)  # what LWA does: poll AWS_LWA_READINESS_CHECK_PATH until it answers
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_stream_function_streams_and_records_usage(lambda_env: LambdaEnv, stream_server: str) -> None:
    body = json.loads(_event("messages_stream.json", None)["body"])
    headers = {"x-api-key": lambda_env.key, "anthropic-version": "2023-06-01"}
    with httpx.stream("POST", stream_server + "/v1/messages", json=body, headers=headers, timeout=30) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("event: ") for line in resp.iter_lines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    # The response ended only after the usage write: LWA would freeze the environment right here.
    records = list(lambda_env.backends.usage_store.records())
    assert [(r.route, r.stream, r.status) for r in records] == [("/v1/messages", True, 200)]


def test_stream_function_chat_completions(lambda_env: LambdaEnv, stream_server: str) -> None:
    body = json.loads(_event("chat_completions_stream.json", None)["body"])
    with httpx.stream(
        "POST",
        stream_server + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {lambda_env.key}"},
    ) as resp:
        assert resp.status_code == 200
        lines = [line for line in resp.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"


AFTER_RESTORE = "/_lwa/after-restore"


@pytest.mark.parametrize("stream_server", [{"AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH": AFTER_RESTORE}], indirect=True)
def test_stream_function_after_a_snapstart_restore(lambda_env: LambdaEnv, stream_server: str) -> None:
    """With SnapStart on, the Web Adapter calls the after-restore path in each restored copy (new random
    state, new upstream pools: ``after_restore``, tested above); the copy then streams as before."""
    assert httpx.post(stream_server + AFTER_RESTORE, timeout=10).status_code == 204
    test_stream_function_streams_and_records_usage(lambda_env, stream_server)


def test_stream_function_without_snapstart_has_no_restore_path(stream_server: str) -> None:
    assert httpx.post(stream_server + AFTER_RESTORE, timeout=10).status_code == 404


# ---- TokenKeeperFunction -----------------------------------------------------------------------------


@pytest.fixture
def keeper(lambda_env: LambdaEnv) -> ModuleType:
    return _load(REPO / "functions" / "token_keeper" / "app.py")


def _scheduled() -> dict[str, Any]:
    return json.loads((EVENTS / "scheduled.json").read_text())


def test_keeper_refreshes_a_token_near_expiry(lambda_env: LambdaEnv, keeper: ModuleType) -> None:
    lambda_env.backends.token_store.save(OB1Token.from_dict(lambda_env.fake.issue_login(expires_in=600)))
    result = keeper.handler(_scheduled(), FakeContext())
    assert result["status"] == "refreshed" and result["expires_in"] > 1200
    assert lambda_env.fake.refresh_calls == 1
    assert "token" not in json.dumps(result).replace("expires_in", "")  # no token material in the result
    again = keeper.handler(_scheduled(), FakeContext())
    assert again["status"] == "fresh" and lambda_env.fake.refresh_calls == 1


def test_keeper_without_a_login(lambda_env: LambdaEnv, keeper: ModuleType, aws_settings: Any) -> None:
    from tests.fixtures.moto_server import aws

    aws("secretsmanager", lambda_env.env["OB1GW_AWS_ENDPOINT_URL"]).put_secret_value(
        SecretId=lambda_env.env["OB1GW_SECRET_ID"], SecretString='{"seeded": false}'
    )
    assert keeper.handler(_scheduled(), FakeContext()) == {"status": "not_logged_in"}


def test_keeper_fails_loudly_when_the_login_is_dead(lambda_env: LambdaEnv, keeper: ModuleType) -> None:
    lambda_env.backends.token_store.save(OB1Token.from_dict(lambda_env.fake.issue_login(expires_in=5)))
    lambda_env.fake.revoke_refresh_tokens()
    from ob1_gateway.upstream.workos import LoginExpired

    with pytest.raises(LoginExpired):  # an Errors datapoint, so an alarm can page the admin
        keeper.handler(_scheduled(), FakeContext())
