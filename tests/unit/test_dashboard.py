"""The CloudWatch dashboard and Contributor Insights rule, after the SAM transform: every name a widget
uses (log groups, metric namespace and names, function names, the insight rule) resolves to something
the template creates or the app emits, and the JSON bodies parse."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.fixtures.moto_server import load_template
from tests.unit.test_template import _of_type, _transformed

PSEUDO = {"AWS::Region": "us-east-1", "AWS::StackName": "teststack", "AWS::URLSuffix": "amazonaws.com"}
# What telemetry/powertools.py (and the token keeper) emit; the dashboard may chart nothing else.
EMITTED_METRICS = {
    "Requests", "Errors", "InputTokens", "OutputTokens", "CacheReadTokens", "CostUSD", "UpstreamLatency",
    "TimeToFirstToken", "TokenRefreshes", "BudgetUsedPercent", "TokenRefreshed", "WebSearches", "WebFetches",
}  # fmt: skip
REQUEST_DIMENSIONS = {"model", "route", "service", "status"}


@pytest.fixture
def cfn(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return _transformed()


def _resolve(cfn: dict[str, Any], sub: Any) -> tuple[str, set[str]]:
    """Render a ``Fn::Sub`` string: resource refs become ``<LogicalId>`` / ``<LogicalId.Attr>``; returns
    the text and the logical ids it referenced (each must exist)."""
    template = sub["Fn::Sub"] if isinstance(sub, dict) else sub
    assert isinstance(template, str)
    used: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in PSEUDO:
            return PSEUDO[name]
        logical = name.split(".")[0]
        assert logical in cfn["Resources"] or logical in cfn.get("Parameters", {}), f"${{{name}}} is not defined"
        used.add(logical)
        return f"<{name}>"

    return re.sub(r"\$\{([A-Za-z0-9:.]+)\}", replace, template), used


def _dashboard(cfn: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    (dashboard,) = _of_type(cfn, "AWS::CloudWatch::Dashboard").values()
    text, used = _resolve(cfn, dashboard["Properties"]["DashboardBody"])
    return json.loads(text), used


def _log_groups(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _of_type(cfn, "AWS::Logs::LogGroup")


def test_functions_log_to_declared_log_groups(cfn: dict[str, Any]) -> None:
    groups = _log_groups(cfn)
    functions = _of_type(cfn, "AWS::Lambda::Function")
    for name, fn in functions.items():
        assert fn["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": f"{name}LogGroup"}, name
        assert f"{name}LogGroup" in groups
    for logical, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        name, _ = _resolve(cfn, group["Properties"]["LogGroupName"])
        # the functions' groups, and API Gateway's access log (ApiAccessLogs=on) beside them
        prefix = "/aws/apigateway/teststack/" if logical == "ApiAccessLogGroup" else "/aws/lambda/teststack/"
        assert name.startswith(prefix), logical


def test_every_widget_names_real_resources(cfn: dict[str, Any]) -> None:
    body, used = _dashboard(cfn)
    groups = _log_groups(cfn)
    functions = _of_type(cfn, "AWS::Lambda::Function")
    namespace = load_template()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    titles = []
    for widget in body["widgets"]:
        props = widget["properties"]
        titles.append(props["title"])
        assert props["region"] == "us-east-1"
        if widget["type"] == "log":
            sources = re.findall(r"SOURCE '([^']+)'", props["query"])
            assert sources, props["title"]
            for source in sources:  # <ApiFunctionLogGroup> -> a declared log group of a request function
                logical = source.strip("<>")
                assert logical in groups and logical in {"ApiFunctionLogGroup", "StreamFunctionLogGroup"}, source
            assert "filter message = 'usage'" in props["query"] or "filter message = 'request'" in props["query"]
            continue
        if "insightRule" in props:
            rule = props["insightRule"]["ruleName"]
            assert rule == "<TopKeysByCostRule.RuleName>"
            assert cfn["Resources"]["TopKeysByCostRule"]["Type"] == "AWS::CloudWatch::InsightRule"
            continue
        for metric in props["metrics"]:
            if isinstance(metric[0], dict):  # Metrics Insights SQL or SEARCH over our EMF namespace
                expression = metric[0]["expression"]
                if expression.startswith("SELECT"):
                    match = re.search(r"SELECT \w+\((\w+)\) FROM SCHEMA\(([^)]*)\)", expression)
                    assert match, expression
                    schema = [part.strip() for part in match.group(2).split(",")]
                    assert schema[0] == namespace and set(schema[1:]) == REQUEST_DIMENSIONS, expression
                    assert match.group(1) in EMITTED_METRICS
                else:
                    match = re.search(r"SEARCH\('\{([^}]*)\} MetricName=\"(\w+)\"'", expression)
                    assert match, expression
                    assert match.group(1).split(",")[0] == namespace, expression
                    assert match.group(2) in EMITTED_METRICS
            else:  # a plain AWS/Lambda metric of one of our functions
                namespace_, _name, dim, value = metric
                assert namespace_ == "AWS/Lambda" and dim == "FunctionName"
                assert value.strip("<>") in functions, value
    assert {"ApiFunctionLogGroup", "StreamFunctionLogGroup", "TopKeysByCostRule"} <= used
    for wanted in (
        "Cost by key",
        "Requests by key",
        "Tokens by model",
        "Cost by model",
        "Errors by status",
        "Latency p50 / p99",
        "Time to first token",
        "token refreshes",
        "Top keys by cost",
        "Refused requests by status",
        "Budget used per key",
    ):
        assert any(wanted in t for t in titles), wanted


def test_metric_names_match_what_observability_emits() -> None:
    """The dashboard's metric names are the ones telemetry/powertools.py passes to Powertools."""
    import inspect

    from ob1_gateway.telemetry import powertools as observability

    source = inspect.getsource(observability)
    emitted = set(re.findall(r'add_metric\(name="(\w+)"', source))
    assert emitted == EMITTED_METRICS - {"TokenRefreshed"}  # TokenRefreshed: the keeper's own metric


def test_top_keys_insight_rule(cfn: dict[str, Any]) -> None:
    rule = cfn["Resources"]["TopKeysByCostRule"]["Properties"]
    assert rule["RuleState"] == "ENABLED"
    text, used = _resolve(cfn, rule["RuleBody"])
    body = json.loads(text)
    assert used == {"ApiFunctionLogGroup", "StreamFunctionLogGroup"}
    assert body["LogGroupNames"] == ["<ApiFunctionLogGroup>", "<StreamFunctionLogGroup>"]
    assert body["Contribution"]["Keys"] == ["$.usage.key_name", "$.usage.key_id"]  # the usage log line's fields
    assert body["Contribution"]["ValueOf"] == "$.usage.cost_usd"
    assert body["Contribution"]["Filters"] == [{"Match": "$.message", "In": ["usage"]}]
    assert body["AggregateOn"] == "Sum" and body["LogFormat"] == "JSON"


def test_dashboard_url_output(cfn: dict[str, Any]) -> None:
    url, used = _resolve(cfn, cfn["Outputs"]["DashboardUrl"]["Value"])
    assert used == {"GatewayDashboard"}
    assert url.startswith("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:")


def test_key_widgets_name_the_key_with_its_id_beside_it(cfn: dict[str, Any]) -> None:
    body, _ = _dashboard(cfn)
    queries = {w["properties"]["title"]: w["properties"].get("query", "") for w in body["widgets"]}
    for title in ("Cost by key (USD)", "Requests by key"):
        assert "by usage.key_name as key, usage.key_id as key_id" in queries[title], title
    refused = next(q for t, q in queries.items() if t.startswith("Refused requests by status"))
    assert "by request.status as status, request.reason as reason, request.key_name as key" in refused
    budget = next(q for t, q in queries.items() if t.startswith("Budget used per key"))
    assert "latest(usage.budget_used_pct)" in budget and "usage.key_name as key, usage.key_id as key_id" in budget
    sessions = next(q for t, q in queries.items() if t.startswith("Most expensive sessions"))
    assert "by usage.session_id as session, usage.key_name as key" in sessions and "sort cost_usd desc" in sessions
