"""The deployed shape on a laptop, exactly as the README's offline path runs it: Docker, the stand-in base
image (tools/lambda-base-image.sh), ``ob1gw dev-stack`` (moto on docker0), ``ob1gw token import`` and
``keys create`` against it, ``sam build`` and ``sam local start-api --config-env local``; then real clients
through http://127.0.0.1:PORT, usage read back through the CLI, and the token keeper run by
``sam local invoke`` against the fake WorkOS.

Needs a Docker engine and the sam CLI. ``.ci/run`` starts both and sets OB1GW_SAM_LOCAL=1, which makes a
missing prerequisite a failure instead of a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import boto3
import httpx
import openai
import pytest
from ob1_gateway.cli.local_aws import docker0_address

from tests.e2e.test_claude_code import CLAUDE, claude_env
from tests.fakes.ob1_fake import FakeOB1Server
from tests.fakes.search_fake import FakeSearch
from tests.fixtures.gateway import free_port

REPO = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("OB1GW_SAM_LOCAL") == "1"
SEARCH_KEY = "tvly-sam-local-key"
BASE_IMAGE = "public.ecr.aws/lambda/python:3.13-x86_64"
OB1GW = str(REPO / ".venv" / "bin" / "ob1gw") if (REPO / ".venv" / "bin" / "ob1gw").exists() else "ob1gw"


def _missing() -> str | None:
    if shutil.which("sam") is None:
        return "the sam CLI is not on PATH"
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode:
        return "no Docker engine"
    if subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True).returncode:
        return f"no {BASE_IMAGE} image (tools/lambda-base-image.sh builds one)"
    if docker0_address() is None:
        return "no docker0 interface"
    return None


MISSING = _missing()
if MISSING and REQUIRED:
    raise RuntimeError(f"OB1GW_SAM_LOCAL=1 but {MISSING}")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(MISSING is not None, reason=f"sam local: {MISSING}")]


@dataclass
class SamLocal:
    base_url: str
    key: str
    cli_env: dict[str, str]
    env_file: Path
    fake: FakeOB1Server
    search: FakeSearch

    def ob1gw(self, *args: str) -> str:
        done = subprocess.run(
            [OB1GW, *args],
            env={**os.environ, **self.cli_env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def import_login(self, tmp: Path, **login: Any) -> dict[str, Any]:
        issued = self.fake.issue_login(**login)
        path = tmp / f"credentials-{time.monotonic_ns()}.json"
        path.write_text(json.dumps(self.fake.credentials_json(issued)))
        self.ob1gw("token", "import", str(path))
        return issued


def _wait_for(predicate: Any, what: str, timeout: float, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc is None or proc.poll() is None, f"{what}: the process exited with {proc and proc.returncode}"
        assert time.monotonic() < deadline, f"{what} within {timeout:g} s"
        time.sleep(0.25)


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # sam ignores SIGINT without a terminal; on SIGTERM it removes containers
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=60).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def sam_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamLocal]:
    tmp = tmp_path_factory.mktemp("sam-local")
    host = docker0_address()
    assert host is not None
    fake = FakeOB1Server(host=host).start()
    search = FakeSearch(host=host).start()  # Tavily's API, its key read from the stack's secret
    env_file, shell_file = tmp / "env.local.json", tmp / "env.local.sh"
    dev_stack = subprocess.Popen(
        [
            *(OB1GW, "dev-stack", "--port", str(free_port())),
            *("--upstream-url", fake.upstream_url, "--auth-url", fake.auth_url),
            *("--env-file", str(env_file), "--shell-file", str(shell_file)),
            *("--web-search", "tavily", "--web-search-url", search.url, "--web-search-api-key", SEARCH_KEY),
        ],
        cwd=REPO,
        stdout=(tmp / "dev-stack.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    port = free_port()
    api: subprocess.Popen[bytes] | None = None
    try:
        _wait_for(lambda: shell_file.exists() and env_file.exists(), "dev-stack writes its files", 60, dev_stack)
        cli_env = dict(line.removeprefix("export ").split("=", 1) for line in shell_file.read_text().splitlines())
        handle = SamLocal(f"http://127.0.0.1:{port}", "", cli_env, env_file, fake, search)
        handle.import_login(tmp)
        created = handle.ob1gw("keys", "create", "sam-local")
        handle.key = next(word for word in created.split() if word.startswith("ob1gw_"))
        build = subprocess.run(["sam", "build"], cwd=REPO, capture_output=True, text=True, timeout=600)
        assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
        started = time.monotonic()
        api = subprocess.Popen(
            ["sam", "local", "start-api", "--config-env", "local", "--port", str(port), "--env-vars", str(env_file)],
            cwd=REPO,
            stdout=(tmp / "start-api.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        _wait_for(lambda: _healthy(handle.base_url), "sam local start-api answers /health", 180, api)
        print(f"sam local start-api: first /health after {time.monotonic() - started:.1f} s")
        yield handle
    finally:
        if api is not None:
            _stop(api)
        _stop(dev_stack)
        fake.stop()
        search.stop()


def test_anthropic_sdk_create_and_stream(sam_local: SamLocal) -> None:
    client = anthropic.Anthropic(base_url=sam_local.base_url, api_key=sam_local.key, max_retries=0, timeout=120)
    message = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hello sam local"}]
    )
    assert message.content[0].text == "Echo: hello sam local"
    with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "stream through sam"}]
    ) as stream:
        assert "".join(stream.text_stream) == "Echo: stream through sam"


def test_openai_sdk_chat_and_responses(sam_local: SamLocal) -> None:
    client = openai.OpenAI(base_url=sam_local.base_url + "/v1", api_key=sam_local.key, max_retries=0, timeout=120)
    chat = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "chat via sam"}])
    assert chat.choices[0].message.content == "Echo: chat via sam"
    chunks = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "stream via sam"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: stream via sam"
    response = client.responses.create(model="gpt-4o-mini", input="responses via sam")
    assert response.output_text == "Echo: responses via sam"


def test_responses_state_across_both_functions(sam_local: SamLocal) -> None:
    """StreamFunction stores each response in the stack's bucket (moto's S3 here) and continues a chain;
    ApiFunction reads and deletes them."""
    client = openai.OpenAI(base_url=sam_local.base_url + "/v1", api_key=sam_local.key, max_retries=0, timeout=120)
    first = client.responses.create(model="gpt-4o-mini", input="one")
    second = client.responses.create(model="gpt-4o-mini", input="two", previous_response_id=first.id)
    messages = sam_local.fake.chat_requests[-1]["body"]["messages"]
    assert [m["content"] for m in messages] == ["one", "Echo: one", "two"]
    assert second.previous_response_id == first.id and second.store is True
    assert client.responses.retrieve(second.id).output_text == "Echo: two"
    texts = [item.content[0].text for item in client.responses.input_items.list(second.id, order="asc")]
    assert texts == ["one", "Echo: one", "two"]
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)


def test_claude_code_on_its_defaults(sam_local: SamLocal, tmp_path: Path) -> None:
    assert CLAUDE is not None, "CI must install Claude Code (npm install)"
    work = tmp_path / "project"
    work.mkdir()
    command = {"command": "echo through-sam-local > marker.txt", "description": "write marker"}
    done = subprocess.run(
        [CLAUDE, "-p", f"Go. USE_TOOL Bash {json.dumps(command)}", "--dangerously-skip-permissions"],
        cwd=work,
        env=claude_env(sam_local.base_url, sam_local.key, tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (work / "marker.txt").read_text().strip() == "through-sam-local"
    assert "Tool said:" in done.stdout


def test_usage_is_recorded_exactly_once_per_request(sam_local: SamLocal) -> None:
    answered = [r for r in sam_local.fake.chat_requests if r.get("status", 200) == 200]
    assert len(answered) >= 7
    deadline = time.monotonic() + 30
    while True:
        rows = json.loads(sam_local.ob1gw("usage", "--json"))
        recorded = sum(row["requests"] for row in rows)
        if recorded >= len(answered) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert recorded == len(answered), rows
    assert sum(row["input_tokens"] for row in rows) == sum(r["usage"]["prompt_tokens"] for r in answered)


def test_token_keeper_refreshes_a_due_login_and_stores_the_rotated_token(sam_local: SamLocal, tmp_path: Path) -> None:
    due = sam_local.import_login(tmp_path, expires_in=120)  # inside the keeper's margin
    refreshed_before = sam_local.fake.state.refresh_successes
    done = subprocess.run(
        [
            *("sam", "local", "invoke", "TokenKeeperFunction", "-e", "events/scheduled.json"),
            *("--config-env", "local", "--env-vars", str(sam_local.env_file)),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert '"status": "refreshed"' in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]  # exits 0 either way
    assert sam_local.fake.state.refresh_successes == refreshed_before + 1
    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=sam_local.cli_env["OB1GW_AWS_ENDPOINT_URL"],
        region_name=sam_local.cli_env["AWS_REGION"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    stored = json.loads(secrets.get_secret_value(SecretId=sam_local.cli_env["OB1GW_SECRET_ID"])["SecretString"])
    assert stored["refresh_token"] != due["refresh_token"], "the rotated refresh token must be kept"
    assert stored["expires_at"] > due["expires_at"]


def test_web_search_with_the_provider_key_from_the_stack_s_secret(sam_local: SamLocal) -> None:
    """Both functions run the gateway's web search (ApiFunction whole, StreamFunction streamed), the provider's key
    read from Secrets Manager as on AWS (env.local.json holds only the secret's id)."""
    assert SEARCH_KEY not in sam_local.env_file.read_text()
    client = anthropic.Anthropic(base_url=sam_local.base_url, api_key=sam_local.key, max_retries=0, timeout=120)
    tools = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]
    ask = [{"role": "user", "content": "Search the web for sam local"}]
    whole = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=ask, tools=tools)  # type: ignore[arg-type,list-item]
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=ask, tools=tools) as stream:  # type: ignore[arg-type,list-item]
        streamed = stream.get_final_message()
    for message in (whole, streamed):
        assert [b.type for b in message.content] == ["server_tool_use", "web_search_tool_result", "text"]
        assert "Fact 1 about sam local." in message.content[2].text  # type: ignore[union-attr]
    assert sam_local.search.queries == ["sam local", "sam local"]
    assert {r["headers"].get("authorization") for r in sam_local.search.requests} == {f"Bearer {SEARCH_KEY}"}
    totals = json.loads(sam_local.ob1gw("usage", "--json", "--by", "key"))  # DynamoDB's records count them
    assert sum(row["web_searches"] for row in totals) == 2
