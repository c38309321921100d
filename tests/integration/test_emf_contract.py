"""Nothing in template.yaml watches what nobody writes: the three handlers run as Lambda runs them (Mangum,
the stream app under uvicorn, the keeper) through the events each alarm and widget is about, with the
template's own namespace and service; their stdout (EMF blobs and JSON log lines) is then the contract.
Every alarm on that namespace, every ``SCHEMA(...)``/``SEARCH`` expression of the dashboard and every
field its Logs Insights queries and the Contributor Insights rule read must appear in it, with the same
dimension set (and the same dimension values where an alarm or query names one)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ob1_gateway.access.keys import issue_key
from ob1_gateway.app import create_app
from ob1_gateway.settings import get_settings
from ob1_gateway.stores.backends import build_backends
from ob1_gateway.stores.base import OB1Token
from ob1_gateway.telemetry import powertools as observability
from ob1_gateway.upstream.workos import LoginExpired

from tests.fakes import scripts as S
from tests.fakes.faults import wait_until
from tests.fixtures.gateway import UvicornThread
from tests.fixtures.moto_server import REPO, load_template
from tests.integration.test_handlers_aws import LambdaEnv, _event, _load, _scheduled, lambda_env  # noqa: F401
from tests.integration.test_left_streams import slow_answer
from tests.unit.test_dashboard import _dashboard, _resolve
from tests.unit.test_template import _of_type, _transformed

GLOBALS = load_template()["Globals"]["Function"]["Environment"]["Variables"]
NAMESPACE, SERVICE = GLOBALS["POWERTOOLS_METRICS_NAMESPACE"], GLOBALS["POWERTOOLS_SERVICE_NAME"]
MetricKey = tuple[str, str, frozenset[str]]  # namespace, metric name, dimension names


class Context:
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    aws_request_id = "contract-1"

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        if line.strip().startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _paths(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}{key}"
            yield path
            yield from _paths(inner, path + ".")


class Contract:
    """What the handlers printed: metrics with the dimension values seen, log messages and field paths."""

    def __init__(self, text: str) -> None:
        self.metrics: dict[MetricKey, list[dict[str, str]]] = {}
        self.messages: set[str] = set()
        self.fields: set[str] = set()
        for line in _json_lines(text):
            if "_aws" in line:
                for directive in line["_aws"]["CloudWatchMetrics"]:
                    for dims in directive["Dimensions"]:
                        for metric in directive["Metrics"]:
                            key = (directive["Namespace"], metric["Name"], frozenset(dims))
                            self.metrics.setdefault(key, []).append({d: line[d] for d in dims})
            elif "message" in line:
                self.messages.add(line["message"])
                self.fields.update(_paths(line))

    def check(self, where: str, metric: str, dims: set[str], values: dict[str, str] | None = None) -> None:
        key = (NAMESPACE, metric, frozenset(dims))
        emitted = sorted((m, sorted(d)) for ns, m, d in self.metrics if ns == NAMESPACE)
        assert key in self.metrics, f"{where}: nobody emits {metric} with dimensions {sorted(dims)}; {emitted}"
        for name, value in (values or {}).items():
            seen = {blob[name] for blob in self.metrics[key]}
            assert value in seen, f"{where}: {metric} is emitted with {name} in {seen}, never {value!r}"


def _schema_query(where: str, expression: str, contract: Contract) -> None:
    """``SELECT FN(Metric) FROM SCHEMA(ns, dims...) [WHERE d = 'v' AND d != 'w'] [GROUP BY d]``."""
    match = re.fullmatch(
        r"SELECT \w+\((\w+)\) FROM SCHEMA\(([^)]*)\)(?: WHERE (.*?))?(?: GROUP BY (\w+))?", expression.strip()
    )
    assert match, f"{where}: not a query this test reads: {expression}"
    metric, schema, condition, group = match.groups()
    namespace, *dims = (part.strip() for part in schema.split(","))
    assert namespace == NAMESPACE, where
    equal = dict(re.findall(r"(\w+) = '([^']*)'", condition or ""))
    named = set(re.findall(r"(\w+) !?= '", condition or "")) | ({group} if group else set())
    assert named <= set(dims), f"{where}: {named - set(dims)} is not in the schema"
    contract.check(where, metric, set(dims), equal)


@pytest.fixture(autouse=True)
def fresh_observability() -> Iterator[None]:
    observability.reset()
    yield
    observability.reset()


@pytest.fixture
def contract(
    lambda_env: LambdaEnv,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Contract:
    """Run every handler through the events the alarms and widgets are about; return what they printed."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", SERVICE)
    monkeypatch.setenv("OB1GW_POWERTOOLS", "1")
    get_settings.cache_clear()
    fake, backends, key = lambda_env.fake, lambda_env.backends, lambda_env.key
    capsys.readouterr()

    api = _load(REPO / "functions" / "api" / "app.py").handler  # ApiFunction: Mangum
    for name, presented in (("messages.json", key), ("models.json", key), ("count_tokens.json", "ob1gw_sk_x_y")):
        api(_event(name, presented), Context("ApiFunction"))

    budgeted, budgeted_key = issue_key("budgeted", budget_usd=5.0)
    build_backends(get_settings()).key_store.put(budgeted)
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    with UvicornThread(create_app(get_settings(), backends)) as server:  # StreamFunction: run.sh's uvicorn
        base = f"http://127.0.0.1:{server.port}"
        anthropic = {"anthropic-version": "2023-06-01"}
        ok = httpx.post(f"{base}/v1/messages", json={**body, "stream": True}, headers={"x-api-key": budgeted_key})
        assert ok.status_code == 200
        fake.expire_all_tokens()  # the next call is refused upstream: a refresh on the request path
        assert httpx.post(f"{base}/v1/messages", json=body, headers={"x-api-key": key}).status_code == 200
        fake.enqueue(*[S.http_error(429, "upstream busy")] * 3)
        assert httpx.post(f"{base}/v1/messages", json=body, headers={"x-api-key": key, **anthropic}).status_code == 429
        unknown = {**body, "model": "gpt-5.4-nano"}
        assert httpx.post(f"{base}/v1/messages", json=unknown, headers={"x-api-key": key}).status_code == 404
        fake.enqueue(slow_answer())
        with httpx.stream(
            "POST", f"{base}/v1/messages", json={**body, "stream": True}, headers={"x-api-key": key}
        ) as r:
            next(r.iter_lines())  # leaves the stream: an estimated usage record
        assert wait_until(lambda: len(list(backends.usage_store.records())) >= 5, timeout=10)

    keeper = _load(REPO / "functions" / "token_keeper" / "app.py")  # TokenKeeperFunction
    backends.token_store.save(OB1Token.from_dict(fake.issue_login(expires_in=600)))
    assert keeper.handler(_scheduled(), Context("TokenKeeperFunction"))["status"] == "refreshed"
    backends.token_store.save(OB1Token.from_dict(fake.issue_login(expires_in=5)))
    fake.revoke_refresh_tokens()
    with pytest.raises(LoginExpired):
        keeper.handler(_scheduled(), Context("TokenKeeperFunction"))
    return Contract(capsys.readouterr().out)


def test_every_alarm_dashboard_widget_and_rule_watches_what_the_handlers_emit(
    contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    cfn = _transformed()

    alarms = _of_type(cfn, "AWS::CloudWatch::Alarm")
    assert set(alarms) >= {
        "LoginRefreshFailedAlarm", "LoginExpiringAlarm", "Gateway5xxAlarm", "UpstreamThrottledAlarm",
        "LambdaErrorsAlarm", "LambdaThrottlesAlarm", "DynamoDBThrottlesAlarm", "KeyBudgetAlarm",
    }  # fmt: skip
    on_our_namespace = 0
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}] and props["OKActions"] == [{"Ref": "AlarmTopic"}], name
        if props.get("Namespace") == NAMESPACE:
            dims = {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}
            contract.check(name, props["MetricName"], set(dims), dims)
            on_our_namespace += 1
        for query in props.get("Metrics", []):
            metric = (query.get("MetricStat") or {}).get("Metric") or {}
            if metric.get("Namespace") == NAMESPACE:
                dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                contract.check(name, metric["MetricName"], set(dims), dims)
                on_our_namespace += 1
            elif str(query.get("Expression", "")).startswith("SELECT"):
                _schema_query(name, query["Expression"], contract)
                on_our_namespace += 1
            elif metric:
                assert metric["Namespace"].startswith("AWS/"), name
    assert on_our_namespace == 4  # login (2), upstream 429s, key budget

    body, _ = _dashboard(cfn)
    for widget in body["widgets"]:
        props = widget["properties"]
        title = props["title"]
        if widget["type"] == "log":
            query = props["query"]
            for message in re.findall(r"message = '(\w+)'", query):
                assert message in contract.messages, f"{title}: no line says {message!r}"
            for field in re.findall(r"\b((?:usage|request)\.\w+)", query):
                assert field in contract.fields, f"{title}: no log line has {field}"
            continue
        for metric in props.get("metrics", []):
            if not isinstance(metric[0], dict):
                continue  # AWS/Lambda, checked by tests/unit/test_dashboard.py
            expression = metric[0]["expression"]
            if expression.startswith("SELECT"):
                _schema_query(title, expression, contract)
            else:
                match = re.fullmatch(r"SEARCH\('\{([^}]*)\} MetricName=\"(\w+)\"', '\w+', \d+\)", expression)
                assert match, f"{title}: {expression}"
                namespace, *dims = match.group(1).split(",")
                assert namespace == NAMESPACE, title
                contract.check(title, match.group(2), set(dims))

    rule, _ = _resolve(cfn, cfn["Resources"]["TopKeysByCostRule"]["Properties"]["RuleBody"])
    contribution = json.loads(rule)["Contribution"]
    for path in [*contribution["Keys"], contribution["ValueOf"]]:
        assert path.removeprefix("$.") in contract.fields, path
    assert "usage" in contract.messages and "request" in contract.messages


def test_the_contract_sees_what_it_should(contract: Contract) -> None:
    """The events above really happened: a refused request's line names its key and reason; an estimated
    record and the budget share were logged; the keeper reported its expiry on success and on failure."""
    contract.check("upstream 429", "Errors", {"model", "route", "service", "status"}, {"status": "429"})
    contract.check("refusals", "Errors", {"model", "route", "service", "status"}, {"model": "none", "status": "404"})
    expiry = contract.metrics[(NAMESPACE, "TokenExpiresInSeconds", frozenset({"service"}))]
    assert len(expiry) == 2  # one per keeper run, the failed one included
    assert {"usage.estimated", "usage.budget_used_pct", "request.reason", "request.key_name"} <= contract.fields
