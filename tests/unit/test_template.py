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


def _transform(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """As CloudFormation sees it after ``sam package``: local code paths replaced by S3 URIs."""
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(template)
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        for field in ("CodeUri", "ContentUri"):
            if field in props:
                props[field] = f"s3://ob1gw-artifacts/{name}.zip"
    return transform(template, parameters or {}, _PolicyLoader())


@cache
def _transformed() -> dict[str, Any]:
    return _transform(load_template())


# Every abuse bound switched on (row 4 of issue 25: the template must transform and lint this way too).
ALL_BOUNDS_ON = {"WafRateLimit": "600", "ApiReservedConcurrency": "20", "StreamReservedConcurrency": "50"}


def _with_defaults(values: dict[str, str]) -> dict[str, Any]:
    """template.yaml with these parameter defaults, as a stack deployed with those values would read it."""
    template = copy.deepcopy(load_template())
    for name, value in values.items():
        template["Parameters"][name]["Default"] = value
    return template


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
        # the `live` alias, whether or not StreamSnapStart publishes its versions with a snapshot
        assert "/2021-11-15/functions/${StreamFunctionAliaslive}/response-streaming-invocations" in _uri(integration)
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
    alias = _of_type(cfn, "AWS::Lambda::Alias")["ApiFunctionAliaslive"]
    assert alias["Properties"]["Name"] == "live"
    permitted = [p["Properties"]["FunctionName"] for p in _of_type(cfn, "AWS::Lambda::Permission").values()]
    assert {"Ref": "ApiFunctionAliaslive"} in permitted, "API Gateway may invoke the alias"
    handler = (REPO / "functions" / "api" / "app.py").read_text()
    assert "register_snapstart_hooks(app)" in handler, "restored copies reseed and get fresh pools"


def test_stream_snapstart_is_off_by_default_and_a_switch(cfn: dict[str, Any], tmp_path: Path) -> None:
    """StreamSnapStart (not verified on a deployed stack): off, StreamFunction initialises as before; on,
    published versions get a snapshot and the adapter is told the after-restore path main.py serves."""
    assert load_template()["Parameters"]["StreamSnapStart"]["Default"] == "off"
    alias = _of_type(cfn, "AWS::Lambda::Alias")["StreamFunctionAliaslive"]
    assert alias["Properties"]["Name"] == "live"
    permitted = [p["Properties"]["FunctionName"] for p in _of_type(cfn, "AWS::Lambda::Permission").values()]
    assert {"Ref": "StreamFunctionAliaslive"} in permitted, "API Gateway may invoke the alias"
    for value, apply_on, hook in (("off", "None", None), ("on", "PublishedVersions", "/_lwa/after-restore")):
        props = deployed(cfn, StreamSnapStart=value)["StreamFunction"]["Properties"]
        assert props["SnapStart"] == {"ApplyOn": apply_on}, value
        variables = props["Environment"]["Variables"]
        assert variables.get("AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH", {"Ref": "AWS::NoValue"}) == (
            hook or {"Ref": "AWS::NoValue"}
        ), value
    main = (REPO / "functions" / "stream" / "main.py").read_text()
    assert 'add_after_restore_route(gateway, os.environ.get("AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH"))' in main
    from cfnlint.api import lint_file

    path = tmp_path / "template.json"
    path.write_text(json.dumps(_with_defaults({"StreamSnapStart": "on"})))
    matches = lint_file(path)
    assert not matches, "\n".join(str(m) for m in matches)


def test_api_is_regional_with_invoke_permissions(cfn: dict[str, Any]) -> None:
    (api,) = _of_type(cfn, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["REGIONAL"]  # 5 min idle, not 30 s
    permitted = {json.dumps(p["Properties"]["FunctionName"]) for p in _of_type(cfn, "AWS::Lambda::Permission").values()}
    assert any("StreamFunction" in p for p in permitted) and any("ApiFunction" in p for p in permitted)


def decide(value: Any, conditions: dict[str, bool]) -> Any:
    """``value`` with every ``Fn::If`` on one of ``conditions`` resolved (the others are left as they are)."""
    if isinstance(value, dict) and list(value) == ["Fn::If"] and value["Fn::If"][0] in conditions:
        name, then, otherwise = value["Fn::If"]
        return decide(then if conditions[name] else otherwise, conditions)
    if isinstance(value, list):
        return [decide(v, conditions) for v in value]
    if isinstance(value, dict):
        return {k: decide(v, conditions) for k, v in value.items()}
    return value


def on(value: Any, *, local: bool) -> Any:
    """``value`` with the template's ``IsLocal`` conditions decided (deployed stack or sam local)."""
    return decide(value, {"IsLocal": local})


def conditions_for(cfn: dict[str, Any], **values: str) -> dict[str, bool]:
    """The template's conditions as CloudFormation decides them for these parameter values (others at
    their defaults). Only the functions the template uses: Equals, Not, Or, Condition."""
    params = {name: str(p.get("Default", "")) for name, p in cfn["Parameters"].items()} | values
    decided: dict[str, bool] = {}

    def operand(expr: Any) -> str:
        return params[expr["Ref"]] if isinstance(expr, dict) else str(expr)

    def evaluate(expr: dict[str, Any]) -> bool:
        ((fn, args),) = expr.items()
        if fn == "Fn::Equals":
            return operand(args[0]) == operand(args[1])
        if fn == "Fn::Not":
            return not evaluate(args[0])
        if fn == "Fn::Or":
            return any(evaluate(arg) for arg in args)
        if fn == "Condition":
            return decided.setdefault(args, evaluate(cfn["Conditions"][args]))
        raise AssertionError(f"condition function {fn} not understood here")

    for name, expr in cfn["Conditions"].items():
        decided[name] = evaluate(expr)
    return decided


def deployed(cfn: dict[str, Any], **values: str) -> dict[str, Any]:
    """The resources a stack with these parameter values has, their ``Fn::If`` resolved."""
    conditions = conditions_for(cfn, **values)
    return {
        name: decide(resource, conditions)
        for name, resource in cfn["Resources"].items()
        if conditions.get(resource.get("Condition", ""), True)
    }


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
        assert env["OB1GW_MODEL_FAMILY_FALLBACK"] == {"Ref": "ModelFamilyFallback"}, name
        assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"} <= set(env)
        (layer_id,) = _of_type(cfn, "AWS::Lambda::LayerVersion")
        for local in (False, True):
            assert on(props["Layers"], local=local)[0] == {"Ref": layer_id}, name
    fallback = load_template()["Parameters"]["ModelFamilyFallback"]
    assert (fallback["Default"], fallback["AllowedValues"]) == ("on", ["on", "off"])
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
    same_app = "create_app(stream_only=True)"  # the routes the template sends StreamFunction, as deployed
    assert (REPO / "functions/stream/buffered.py").read_text().count(f"mangum_handler({same_app})") == 1
    assert (REPO / "functions/stream/main.py").read_text().count(f"gateway = {same_app}") == 1
    assert load_template()["Parameters"]["LocalEmulation"]["Default"] == "false"


def test_token_keeper_schedule(cfn: dict[str, Any]) -> None:
    props = _of_type(cfn, "AWS::Lambda::Function")["TokenKeeperFunction"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == 1
    rules = _of_type(cfn, "AWS::Events::Rule")
    assert [r["Properties"]["ScheduleExpression"] for r in rules.values()] == ["rate(10 minutes)"]


# ---- what abuse can cost: throttling, reserved concurrency, the optional WAF (issue 25) -----------------

NO_VALUE = {"Ref": "AWS::NoValue"}
REQUEST = {"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}


def _stage(cfn: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((name, stage),) = _of_type(cfn, "AWS::ApiGateway::Stage").items()
    return name, stage["Properties"]


def _gateway_responses(cfn: dict[str, Any]) -> dict[str, Any]:
    (api,) = _of_type(cfn, "AWS::ApiGateway::RestApi").values()
    return api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]


def _sdks_see_a_rate_limit(status: int, headers: dict[str, str], body: str) -> None:
    """Serve this response on 127.0.0.1 and call it with both SDKs: each must raise its own rate-limit
    error, parse the body as its API's error shape and see the retry-after."""
    from anthropic import Anthropic
    from anthropic import RateLimitError as AnthropicRateLimit
    from openai import OpenAI
    from openai import RateLimitError as OpenAIRateLimit
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from tests.fixtures.gateway import UvicornThread

    async def answer(_: Any) -> Response:
        return Response(body, status_code=status, headers=headers, media_type="application/json")

    app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
    with UvicornThread(app) as server:
        base = f"http://127.0.0.1:{server.port}"
        with pytest.raises(AnthropicRateLimit) as anthropic_error:
            Anthropic(base_url=base, api_key="k", max_retries=0).messages.create(**REQUEST)
        with pytest.raises(OpenAIRateLimit) as openai_error:
            OpenAI(base_url=base + "/v1", api_key="k", max_retries=0).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
            )
    a_body = anthropic_error.value.body
    assert isinstance(a_body, dict) and a_body["type"] == "error"
    assert a_body["error"]["type"] == "rate_limit_error" and a_body["error"]["message"]
    assert anthropic_error.value.response.headers["retry-after"] == headers["retry-after"]
    o = openai_error.value
    assert (o.type, o.code, o.param) == ("rate_limit_error", "rate_limit_exceeded", None)
    assert o.body == {**a_body["error"], "param": None, "code": "rate_limit_exceeded"}
    assert o.response.headers["retry-after"] == headers["retry-after"]


def test_every_route_is_throttled_by_the_stage(cfn: dict[str, Any]) -> None:
    _, stage = _stage(cfn)
    assert stage["MethodSettings"] == [
        {
            "ResourcePath": "/*",  # every method: API Gateway gives each its own bucket
            "HttpMethod": "*",
            "ThrottlingRateLimit": {"Ref": "ThrottleRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "ThrottleBurstLimit"},
        }
    ]
    params = load_template()["Parameters"]
    assert (params["ThrottleRateLimit"]["Default"], params["ThrottleBurstLimit"]["Default"]) == (50, 100)
    assert params["ThrottleRateLimit"]["MinValue"] == 1, "0 would refuse every request"


def test_throttled_requests_answer_in_both_apis_error_shape(cfn: dict[str, Any]) -> None:
    throttled = _gateway_responses(cfn)["THROTTLED"]
    assert throttled["statusCode"] == "429"
    assert throttled["responseParameters"] == {"gatewayresponse.header.retry-after": "'1'"}
    (body,) = throttled["responseTemplates"].values()
    assert "$" not in body, "a gateway response is not a VTL template: only the static text is sent"
    _sdks_see_a_rate_limit(429, {"retry-after": "1"}, body)


def test_reserved_concurrency_is_unreserved_unless_an_admin_sets_it(cfn: dict[str, Any]) -> None:
    params = load_template()["Parameters"]
    for name in ("ApiReservedConcurrency", "StreamReservedConcurrency"):
        pattern = params[name]["AllowedPattern"]
        assert params[name]["Default"] == "" and re.fullmatch(pattern, "")
        assert re.fullmatch(pattern, "20") and not re.fullmatch(pattern, "-1") and not re.fullmatch(pattern, "ten")
    default = deployed(cfn)
    for name in ("ApiFunction", "StreamFunction"):
        assert default[name]["Properties"]["ReservedConcurrentExecutions"] == NO_VALUE, name
    assert default["TokenKeeperFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1
    capped = deployed(cfn, **ALL_BOUNDS_ON)
    for name, param in (("ApiFunction", "ApiReservedConcurrency"), ("StreamFunction", "StreamReservedConcurrency")):
        assert capped[name]["Properties"]["ReservedConcurrentExecutions"] == {"Ref": param}, name


def test_waf_is_off_by_default_and_limits_each_source_ip_when_on(cfn: dict[str, Any]) -> None:
    param = load_template()["Parameters"]["WafRateLimit"]
    assert param["Default"] == "0"
    for value, allowed in (("0", True), ("10", True), ("600", True), ("9", False), ("010", False), ("-5", False)):
        assert bool(re.fullmatch(param["AllowedPattern"], value)) is allowed, value  # WAF's minimum is 10
    assert not [r for r in deployed(cfn).values() if r["Type"].startswith("AWS::WAFv2::")]

    on_ = deployed(cfn, WafRateLimit="600")
    (acl,) = [r["Properties"] for r in on_.values() if r["Type"] == "AWS::WAFv2::WebACL"]
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    (rule,) = acl["Rules"]
    assert rule["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": 60,
        "Limit": {"Ref": "WafRateLimit"},
    }
    blocked = rule["Action"]["Block"]["CustomResponse"]
    assert blocked["ResponseCode"] == 429 and blocked["ResponseHeaders"] == [{"Name": "retry-after", "Value": "60"}]
    body = acl["CustomResponseBodies"][blocked["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    _sdks_see_a_rate_limit(429, {"retry-after": "60"}, body["Content"])

    (association,) = [r["Properties"] for r in on_.values() if r["Type"] == "AWS::WAFv2::WebACLAssociation"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["GatewayWebAcl", "Arn"]}
    stage_id, _ = _stage(cfn)
    stage_arn = "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${GatewayApi}/stages/${" + stage_id + "}"
    assert association["ResourceArn"] == {"Fn::Sub": stage_arn}


def test_template_transforms_and_lints_with_every_bound_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cfnlint.api import lint_file

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    template = _with_defaults(ALL_BOUNDS_ON)
    transformed = _transform(template, ALL_BOUNDS_ON)
    assert {"GatewayWebAcl", "GatewayWebAclAssociation"} <= set(transformed["Resources"])
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    matches = lint_file(path)
    assert not matches, "\n".join(str(m) for m in matches)


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
                if "Fn::If" in statement:  # a statement only under a condition (the customer KMS key)
                    statement = statement["Fn::If"][1]
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
        if any(a.startswith("secretsmanager:") for a in actions):  # the login, or the web search key (read only)
            assert resources == [{"Ref": "TokenSecret"}] or (
                resources == [{"Ref": "WebSearchApiKeySecret"}] and actions == ["secretsmanager:GetSecretValue"]
            ), (role, statement)
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
@pytest.mark.parametrize("bounds", ["defaults", "all on"])
def test_sam_validate_lint(bounds: str, tmp_path: Path) -> None:
    template = TEMPLATE
    if bounds == "all on":  # the WAF, both reserved concurrencies
        template = tmp_path / "template.json"
        template.write_text(json.dumps(_with_defaults(ALL_BOUNDS_ON)))
    result = subprocess.run(
        [sam, "validate", "--lint", "--template-file", str(template), "--region", "us-east-1"],  # type: ignore[list-item]
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


def test_each_function_gets_the_least_it_needs(cfn: dict[str, Any]) -> None:
    """No Scan where no route needs one; the request functions' table access limited to the partitions a
    request touches; stored responses only over TLS; a customer KMS key for everything that holds data."""
    by_role = {role: [s for r, s in _statements(cfn) if r == role] for role, _ in _statements(cfn)}
    for role in ("ApiFunctionRole", "StreamFunctionRole"):
        assert "dynamodb:Scan" not in json.dumps(by_role[role]), role
        [table] = [s for s in by_role[role] if s.get("Sid") == "GatewayTable"]
        assert table["Resource"] == {"Fn::GetAtt": ["GatewayTable", "Arn"]}
        leading = table["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert leading == ["KEY#*", "LOCK#ob1-token"]
    policy = _of_type(cfn, "AWS::S3::BucketPolicy")["ResponsesBucketPolicy"]["Properties"]["PolicyDocument"]
    [deny] = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    resources = cfn["Resources"]
    key = {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    assert resources["TokenSecret"]["Properties"]["KmsKeyId"] == key
    assert resources["GatewayTable"]["Properties"]["SSESpecification"]["KMSMasterKeyId"] == key
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == key
    for name, group in _of_type(cfn, "AWS::Logs::LogGroup").items():
        assert group["Properties"]["KmsKeyId"] == key, name
    assert cfn["Parameters"]["KmsKeyArn"]["Default"] == ""
    stage = next(iter(_of_type(cfn, "AWS::ApiGateway::Stage").values()))["Properties"]
    assert stage["AccessLogSetting"]["Fn::If"][0] == "ApiAccessLogsOn"


def test_web_search_is_off_by_default_and_a_keyed_provider_s_key_lives_in_its_own_secret(cfn: dict[str, Any]) -> None:
    """The web tools' parameters reach both request functions; a keyed provider gets a secret that only they may read
    (its id, never the key, in their environment); off or SearXNG: no secret."""
    template = load_template()
    assert (
        template["Parameters"]["WebSearch"]["Default"] == "off"
        and template["Parameters"]["WebFetch"]["Default"] == "off"
    )
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["OB1GW_WEB_SEARCH"] == {"Ref": "WebSearch"} and env["OB1GW_WEB_FETCH"] == {"Ref": "WebFetch"}
    assert "OB1GW_WEB_SEARCH_API_KEY" not in env
    for value, keyed in (("off", False), ("searxng", False), ("tavily", True), ("brave", True), ("exa", True)):
        resources = deployed(cfn, WebSearch=value)
        assert ("WebSearchApiKeySecret" in resources) is keyed, value
        for name in ("ApiFunctionRole", "StreamFunctionRole", "TokenKeeperFunctionRole"):
            statements = resources[name]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            reads_key = any(s.get("Sid") == "WebSearchApiKey" for s in statements if isinstance(s, dict))
            assert reads_key is (keyed and name != "TokenKeeperFunctionRole"), (value, name)
        variables = resources["ApiFunction"]["Properties"]["Environment"]["Variables"]
        expected = {"Ref": "WebSearchApiKeySecret"} if keyed else ""
        assert variables["OB1GW_WEB_SEARCH_API_KEY_SECRET_ID"] == expected, value
