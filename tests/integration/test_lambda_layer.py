"""The Lambda functions run on what Lambda gives them and nothing else.

The other handler tests import the functions inside the test venv, where every test dependency is
installed too, so a package missing from the SharedLayer would go unnoticed until a cold start crashed
in AWS. This test works like a deployment. It builds the layer with the recipe ``sam build`` runs
(``shared/Makefile``: Lambda wheels of ``shared/requirements.txt`` plus ``ob1_gateway``, without
boto3). It creates a bare interpreter with an empty site-packages. It links in only what the python3.13
runtime ships: boto3 and its dependencies. Then it runs each function's entry point there with
``AWS_LAMBDA_FUNCTION_NAME`` set, so Powertools' Lambda paths (Logger, Metrics, and Tracer with the
X-Ray SDK when ``OB1GW_TRACER`` is on) are the ones that run. The run uses moto's server and the fake OB-1."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.ob1_fake import FakeOB1Server
from tests.fixtures.gateway import free_port, seeded_from_env, wait_until_healthy
from tests.fixtures.moto_server import REPO

# What the Lambda python3.13 runtime puts on sys.path besides the function and its layers.
RUNTIME_PACKAGES = ["boto3", "botocore", "jmespath", "s3transfer", "dateutil", "six", "urllib3"]

DRIVER = r"""
import json, sys
from pathlib import Path

class Context:
    function_name = sys.argv[2]
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + sys.argv[2]
    aws_request_id = "layer-test"
    def get_remaining_time_in_millis(self):
        return 30_000

import app  # module scope runs here, as in a cold start
results = []
for path in sys.argv[3:]:
    event = json.loads(Path(path).read_text())
    if "headers" in event:
        event["headers"]["x-api-key"] = sys.argv[1]
        event["multiValueHeaders"]["x-api-key"] = [sys.argv[1]]
    out = app.handler(event, Context())
    results.append(out.get("statusCode", out.get("status")) if isinstance(out, dict) else out)
print("RESULTS " + json.dumps(results))
print("XRAY_SDK_LOADED " + json.dumps("aws_xray_sdk" in sys.modules))
"""


@pytest.fixture(scope="module")
def lambda_python(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A bare interpreter plus a PYTHONPATH tail: the built layer, then what the runtime ships."""
    if sys.version_info[:2] != (3, 13) or platform.machine() != "x86_64":
        pytest.skip("the layer holds CPython 3.13 x86_64 wheels and bytecode")
    root = tmp_path_factory.mktemp("lambda")
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(REPO / "shared"),
            "build-SharedLayer",
            f"ARTIFACTS_DIR={root}",
            f"PYTHON={sys.executable}",
        ],
        check=True,
        timeout=170,
    )
    layer = root / "python"
    runtime = root / "runtime"
    runtime.mkdir()
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        (runtime / source.name).symlink_to(source)
    bare = root / "bare"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(bare)
    return bare / "bin" / "python", os.pathsep.join([str(layer), str(runtime)])


@pytest.fixture
def deployed_env(aws_env: dict[str, str], fake_ob1: FakeOB1Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    backends, _, key = seeded_from_env(fake_ob1, monkeypatch, "layer-tester")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": "ob1-gateway",
        "POWERTOOLS_METRICS_NAMESPACE": "OB1GatewayLayerTest",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",  # segments go to a UDP port nobody reads
        **aws_env,
        **fake_ob1.env(),
    }
    return {"env": env, "key": key, "backends": backends}


def _run_function(
    python: Path, path_tail: str, env: dict[str, str], function: str, name: str, *args: str
) -> tuple[list[Any], str]:
    folder = REPO / "functions" / function
    proc = subprocess.run(
        [str(python), "-c", DRIVER, *args[:1], name, *args[1:]],
        cwd=folder,
        env={**env, "PYTHONPATH": f"{folder}{os.pathsep}{path_tail}", "AWS_LAMBDA_FUNCTION_NAME": name},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS "))
    return json.loads(line.removeprefix("RESULTS ")), proc.stdout


def test_the_layer_holds_the_package_and_not_the_runtime_sdk(lambda_python: tuple[Path, str]) -> None:
    python, path_tail = lambda_python
    layer = Path(path_tail.split(os.pathsep)[0])
    assert (layer / "ob1_gateway" / "__pycache__").is_dir()  # precompiled: /opt is read-only in Lambda
    assert not (layer / "ob1_gateway" / "cli").exists()  # the admin's command is not a function's code
    assert not [p.name for p in layer.iterdir() if p.name.split("-")[0] in {"boto3", "botocore", "s3transfer"}]
    probe = "import importlib.util as u; print([m for m in ('moto', 'pytest', 'httpx2', 'typer') if u.find_spec(m)])"
    out = subprocess.run(
        [str(python), "-c", probe], env={"PYTHONPATH": path_tail}, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"  # nothing from the test venv leaks into the functions' imports


@pytest.mark.parametrize("tracer", ["off", "on"])
def test_api_function_cold_starts_and_serves_on_the_layer(
    lambda_python: tuple[Path, str], deployed_env: dict[str, Any], tracer: str
) -> None:
    python, path_tail = lambda_python
    events = [str(REPO / "events" / f) for f in ("health.json", "models.json", "messages.json", "usage.json")]
    env = {**deployed_env["env"], "OB1GW_TRACER": tracer}
    results, stdout = _run_function(python, path_tail, env, "api", "ApiFunction", deployed_env["key"], *events)
    assert results == [200, 200, 200, 200]
    assert '"_aws"' in stdout  # an EMF blob: Powertools Metrics ran on its Lambda path
    assert f"XRAY_SDK_LOADED {json.dumps(tracer == 'on')}" in stdout  # the SDK's cold start only on demand
    records = list(deployed_env["backends"].usage_store.records())
    assert [(r.route, r.status) for r in records] == [("/v1/messages", 200)]


def test_token_keeper_runs_on_the_layer(lambda_python: tuple[Path, str], deployed_env: dict[str, Any]) -> None:
    python, path_tail = lambda_python
    results, _ = _run_function(
        python,
        path_tail,
        deployed_env["env"],
        "token_keeper",
        "TokenKeeperFunction",
        "",
        str(REPO / "events" / "scheduled.json"),
    )
    assert results == ["fresh"]


def test_stream_function_run_sh_serves_on_the_layer(
    lambda_python: tuple[Path, str], deployed_env: dict[str, Any]
) -> None:
    """run.sh as the Lambda Web Adapter starts it, with the bare interpreter first on PATH."""
    python, path_tail = lambda_python
    port = free_port()
    env = {
        **deployed_env["env"],
        "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": path_tail,
        "AWS_LAMBDA_FUNCTION_NAME": "StreamFunction",
        "AWS_LWA_PORT": str(port),
    }
    proc = subprocess.Popen(["bash", str(REPO / "functions" / "stream" / "run.sh")], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc)
        body = json.loads(json.loads((REPO / "events" / "messages_stream.json").read_text())["body"])
        headers = {"x-api-key": deployed_env["key"], "anthropic-version": "2023-06-01"}
        with httpx.stream("POST", base + "/v1/messages", json=body, headers=headers, timeout=30) as resp:
            assert resp.status_code == 200
            events = [ln.removeprefix("event: ") for ln in resp.iter_lines() if ln.startswith("event: ")]
        assert events[0] == "message_start" and events[-1] == "message_stop"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    records = list(deployed_env["backends"].usage_store.records())
    assert [(r.route, r.stream, r.status) for r in records] == [("/v1/messages", True, 200)]
