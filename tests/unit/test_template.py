"""template.yaml, transformed by aws-sam-translator the way CloudFormation will, checked for the
properties that matter: chat routes stream, buffered routes hit Mangum, IAM is scoped, lint passes."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.moto_server import REPO, TEMPLATE, load_template

STREAM_ROUTES = {("/v1/messages", "post"), ("/v1/chat/completions", "post"), ("/v1/responses", "post")}
BUFFERED_ROUTES = {
    ("/health", "get"),
    ("/v1/models", "get"),
    ("/v1/messages/count_tokens", "post"),
    ("/v1/usage", "get"),
    ("/{proxy+}", "x-amazon-apigateway-any-method"),
}
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}


class _PolicyLoader:
    """The translator asks IAM for managed policy ARNs; a stub keeps the test offline."""

    def load(self) -> dict[str, str]:
        return MANAGED_POLICIES


@cache
def _transformed() -> dict[str, Any]:
    """As CloudFormation sees it after ``sam package``: local code paths replaced by S3 URIs."""
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(load_template())
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        for field in ("CodeUri", "ContentUri"):
            if field in props:
                props[field] = f"s3://ob1gw-artifacts/{name}.zip"
    return transform(template, {}, _PolicyLoader())


@pytest.fixture
def cfn(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return _transformed()


def _of_type(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in cfn["Resources"].items() if res["Type"] == kind}


def _integrations(cfn: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    (api,) = _of_type(cfn, "AWS::ApiGateway::RestApi").values()
    paths = api["Properties"]["Body"]["paths"]
    return {
        (path, method): spec["x-amazon-apigateway-integration"]
        for path, methods in paths.items()
        for method, spec in methods.items()
    }


def _uri(integration: dict[str, Any]) -> str:
    return json.dumps(integration["uri"])


def test_samtranslator_supports_response_transfer_mode() -> None:
    """The template relies on the Api event's ResponseTransferMode (aws-sam-translator >= 1.109)."""
    import samtranslator
    from samtranslator.model.eventsources.push import Api

    assert "ResponseTransferMode" in Api.property_types, samtranslator.__version__


def test_chat_routes_stream_from_stream_function(cfn: dict[str, Any]) -> None:
    routes = _integrations(cfn)
    assert set(routes) == STREAM_ROUTES | BUFFERED_ROUTES
    for route in STREAM_ROUTES:
        integration = routes[route]
        assert integration["type"] == "aws_proxy"
        assert integration["responseTransferMode"] == "STREAM", route
        assert "/2021-11-15/functions/${StreamFunction.Arn}/response-streaming-invocations" in _uri(integration)
        assert integration["timeoutInMillis"] == 900000  # streamed responses may run 15 minutes


def test_buffered_routes_go_to_mangum_function(cfn: dict[str, Any]) -> None:
    routes = _integrations(cfn)
    for route in BUFFERED_ROUTES:
        integration = routes[route]
        assert integration.get("responseTransferMode", "BUFFERED") != "STREAM", route
        # SnapStart applies to published versions only: API Gateway must invoke the alias, not $LATEST.
        assert "/2015-03-31/functions/${ApiFunctionAliaslive}/invocations" in _uri(integration), route


def test_api_function_restores_from_a_snapshot(cfn: dict[str, Any]) -> None:
    functions = _of_type(cfn, "AWS::Lambda::Function")
    assert functions["ApiFunction"]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    (alias,) = _of_type(cfn, "AWS::Lambda::Alias").values()
    assert alias["Properties"]["Name"] == "live"
    permitted = [p["Properties"]["FunctionName"] for p in _of_type(cfn, "AWS::Lambda::Permission").values()]
    assert {"Ref": "ApiFunctionAliaslive"} in permitted, "API Gateway may invoke the alias"
    handler = (REPO / "functions" / "api" / "app.py").read_text()
    assert "register_snapstart_hooks(app)" in handler, "restored copies reseed and get fresh pools"


def test_api_is_regional_with_invoke_permissions(cfn: dict[str, Any]) -> None:
    (api,) = _of_type(cfn, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["REGIONAL"]  # 5 min idle, not 30 s
    permitted = {json.dumps(p["Properties"]["FunctionName"]) for p in _of_type(cfn, "AWS::Lambda::Permission").values()}
    assert any("StreamFunction" in p for p in permitted) and any("ApiFunction" in p for p in permitted)


def on(value: Any, *, local: bool) -> Any:
    """``value`` with the template's ``IsLocal`` conditions decided (deployed stack or sam local)."""
    if isinstance(value, dict) and list(value) == ["Fn::If"] and value["Fn::If"][0] == "IsLocal":
        return on(value["Fn::If"][1 if local else 2], local=local)
    if isinstance(value, list):
        return [on(v, local=local) for v in value]
    if isinstance(value, dict):
        return {k: on(v, local=local) for k, v in value.items()}
    return value


def test_functions_share_globals_and_layer(cfn: dict[str, Any]) -> None:
    functions = _of_type(cfn, "AWS::Lambda::Function")
    assert set(functions) == {"ApiFunction", "StreamFunction", "TokenKeeperFunction"}
    for name, fn in functions.items():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.13", name
        assert props["Architectures"] == ["x86_64"], name
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        env = props["Environment"]["Variables"]
        assert env["OB1GW_BACKEND"] == "aws"
        assert env["OB1GW_SECRET_ID"] == {"Ref": "TokenSecret"}
        assert env["OB1GW_TABLE_NAME"] == {"Ref": "GatewayTable"}
        assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"} <= set(env)
        (layer_id,) = _of_type(cfn, "AWS::Lambda::LayerVersion")
        for local in (False, True):
            assert on(props["Layers"], local=local)[0] == {"Ref": layer_id}, name
    layer = load_template()["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert "build-SharedLayer:" in (REPO / "shared" / "Makefile").read_text()


def test_stream_function_runs_the_web_adapter(cfn: dict[str, Any]) -> None:
    props = on(_of_type(cfn, "AWS::Lambda::Function")["StreamFunction"]["Properties"], local=False)
    assert props["Handler"] == "run.sh"
    assert props["Timeout"] == 900
    env = props["Environment"]["Variables"]
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert env["AWS_LWA_INVOKE_MODE"] == {"Ref": "LwaInvokeMode"}
    assert env["AWS_LWA_READINESS_CHECK_PATH"] == "/health"
    assert env["AWS_LWA_PORT"] != "8080", "sam local's emulator listens on 8080 inside the container"
    assert (
        f'--port "${{AWS_LWA_PORT:-${{PORT:-{env["AWS_LWA_PORT"]}}}}}"'
        in (REPO / "functions/stream/run.sh").read_text()
    )
    lwa = json.dumps(props["Layers"][1])
    assert "arn:aws:lambda:${AWS::Region}:753240598075:layer:LambdaAdapterLayerX86:26" in lwa
    params = load_template()["Parameters"]
    assert params["LwaInvokeMode"]["Default"] == "response_stream"
    assert set(params["LwaInvokeMode"]["AllowedValues"]) == {"response_stream", "buffered"}
    assert {"Stage", "LwaLayerArn", "UpstreamUrl", "LogLevel", "LwaInvokeMode"} <= set(params)


def test_stream_function_under_sam_local_needs_no_web_adapter(cfn: dict[str, Any]) -> None:
    """sam local cannot download the adapter layer offline (nor stream): the same app runs through Mangum."""
    props = on(_of_type(cfn, "AWS::Lambda::Function")["StreamFunction"]["Properties"], local=True)
    assert props["Handler"] == "buffered.handler"
    assert len(props["Layers"]) == 1 and "LambdaAdapterLayer" not in json.dumps(props["Layers"])
    assert props["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"] == {"Ref": "AWS::NoValue"}
    assert (REPO / "functions/stream/buffered.py").read_text().count("mangum_handler(create_app())") == 1
    assert load_template()["Parameters"]["LocalEmulation"]["Default"] == "false"


def test_token_keeper_schedule(cfn: dict[str, Any]) -> None:
    props = _of_type(cfn, "AWS::Lambda::Function")["TokenKeeperFunction"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == 1
    rules = _of_type(cfn, "AWS::Events::Rule")
    assert [r["Properties"]["ScheduleExpression"] for r in rules.values()] == ["rate(10 minutes)"]


def test_table_and_secret(cfn: dict[str, Any]) -> None:
    table = cfn["Resources"]["GatewayTable"]
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert {(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]} == {
        ("PK", "HASH"),
        ("SK", "RANGE"),
    }
    assert table["DeletionPolicy"] == "Retain"
    secret = cfn["Resources"]["TokenSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "access_token" not in secret["Properties"]["SecretString"]
    assert {"ApiUrl", "SecretArn", "TableName"} <= set(cfn["Outputs"])


def test_responses_bucket_is_private_expires_and_is_least_privilege(cfn: dict[str, Any]) -> None:
    bucket = cfn["Resources"]["ResponsesBucket"]
    props = bucket["Properties"]
    assert bucket["Type"] == "AWS::S3::Bucket" and bucket["DeletionPolicy"] == "Retain"
    assert all(props["PublicAccessBlockConfiguration"].values())
    [expire] = [r for r in props["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    assert expire["ExpirationInDays"] == {"Ref": "ResponsesTtlDays"} and expire["Prefix"] == "responses/"
    assert cfn["Parameters"]["ResponsesTtlDays"]["Default"] == 30
    env = cfn["Resources"]["StreamFunction"]["Properties"]["Environment"]["Variables"]
    assert env["OB1GW_RESPONSES_BUCKET"] == {"Ref": "ResponsesBucket"}
    assert env["OB1GW_RESPONSES_TTL_DAYS"] == {"Ref": "ResponsesTtlDays"}
    s3 = {role: [s for r, s in _statements(cfn) if r == role and "s3:" in json.dumps(s["Action"])] for role in (
        "ApiFunctionRole", "StreamFunctionRole", "TokenKeeperFunctionRole")}  # fmt: skip
    assert s3["TokenKeeperFunctionRole"] == []
    objects = {"Fn::Sub": "${ResponsesBucket.Arn}/responses/*"}
    for role, writes in (("ApiFunctionRole", "s3:DeleteObject"), ("StreamFunctionRole", "s3:PutObject")):
        actions = {
            a: st["Resource"]
            for st in s3[role]
            for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
        }
        assert actions == {
            "s3:GetObject": objects,
            writes: objects,
            "s3:ListBucket": {"Fn::GetAtt": ["ResponsesBucket", "Arn"]},
        }


def _statements(cfn: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, role in _of_type(cfn, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                found.append((name, statement))
    return found


def test_iam_is_scoped_to_named_resources(cfn: dict[str, Any]) -> None:
    statements = _statements(cfn)
    assert statements
    for role, statement in statements:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources, (role, statement)
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        text = json.dumps(resources)
        if any(a.startswith("dynamodb:") for a in actions):
            assert "GatewayTable" in text, (role, statement)
        if any(a.startswith("secretsmanager:") for a in actions):
            assert resources == [{"Ref": "TokenSecret"}], (role, statement)
    by_role = {role: [s for r, s in statements if r == role] for role, _ in statements}
    keeper = json.dumps(by_role["TokenKeeperFunctionRole"])
    assert "LOCK#ob1-token" in keeper and "dynamodb:Scan" not in keeper  # the keeper only touches the lease
    # Managed policies are the unscopable ones only (logs, X-Ray).
    for role in _of_type(cfn, "AWS::IAM::Role").values():
        assert set(role["Properties"].get("ManagedPolicyArns", [])) <= set(MANAGED_POLICIES.values())


def test_cfn_lint_passes() -> None:
    from cfnlint.api import lint_file

    matches = lint_file(TEMPLATE)
    assert not matches, "\n".join(str(m) for m in matches)


def test_samconfig_local_env_emulates_offline() -> None:
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    deploy = config["default"]["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM" and deploy["confirm_changeset"] and deploy["resolve_s3"]
    assert config["default"]["build"]["parameters"] == {"cached": True, "parallel": True}
    for command in ("local_start_api", "local_invoke"):
        local = config["local"][command]["parameters"]
        assert 'LocalEmulation="true"' in local["parameter_overrides"]
        assert local["skip_pull_image"] is True
        assert local.get("warm_containers", "LAZY") != "EAGER", "one bad function must not fail the start"
        assert local["env_vars"] == "env.local.json"  # written by `ob1gw dev-stack`, git-ignored


def test_env_json_only_sets_declared_variables() -> None:
    """sam local ignores env.json variables the template does not declare; catch such typos."""
    template = load_template()
    declared_global = set(template["Globals"]["Function"]["Environment"]["Variables"])
    env = json.loads((REPO / "env.json").read_text())
    assert set(env["Parameters"]) <= declared_global
    for name, variables in env.items():
        if name == "Parameters":
            continue
        own = template["Resources"][name]["Properties"].get("Environment", {}).get("Variables", {})
        assert set(variables) <= declared_global | set(own), name


def test_every_route_has_an_event_and_every_event_a_route() -> None:
    template = load_template()
    routes = {
        (e["Properties"]["Path"], e["Properties"]["Method"].lower())
        for res in template["Resources"].values()
        if res["Type"] == "AWS::Serverless::Function"
        for e in res["Properties"].get("Events", {}).values()
        if e["Type"] == "Api"
    }
    events = {}
    for path in sorted((REPO / "events").glob("*.json")):
        body = json.loads(path.read_text())
        if "httpMethod" in body:
            events[path.name] = (body["path"], body["httpMethod"].lower())
            assert body["headers"]["x-api-key"].startswith("ob1gw_"), path.name
        else:
            assert body["detail-type"] == "Scheduled Event", path.name
    assert set(events.values()) == routes - {("/{proxy+}", "any")}


# ---- the real SAM CLI (installed in CI; skipped where it is missing) ---------------------------------

sam = shutil.which("sam")
needs_sam = pytest.mark.skipif(sam is None, reason="aws-sam-cli not on PATH")


@needs_sam
def test_sam_validate_lint() -> None:
    result = subprocess.run(
        [sam, "validate", "--lint", "--template-file", str(TEMPLATE), "--region", "us-east-1"],  # type: ignore[list-item]
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_sam
def test_sam_build(tmp_path: Path) -> None:
    """The layer must put ob1_gateway and its dependencies under python/, and run.sh stay executable."""
    build = tmp_path / "build"
    result = subprocess.run(
        [sam, "build", "--template-file", str(TEMPLATE), "--build-dir", str(build)],  # type: ignore[list-item]
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    layer = build / "SharedLayer" / "python"
    for package in (
        "ob1_gateway",
        "fastapi",
        "mangum",
        "uvicorn",
        "aws_lambda_powertools",
        "pydantic_settings",
    ):
        assert (layer / package).is_dir(), package
    run_sh = build / "StreamFunction" / "run.sh"
    assert run_sh.stat().st_mode & 0o111
    built = (build / "template.yaml").read_text()
    assert re.search(r"ResponseTransferMode: RESPONSE_STREAM", built)
