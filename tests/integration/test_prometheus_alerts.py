"""deploy/prometheus-alerts.yml watches what ``ob1gw serve`` exposes: every metric a rule names, with every
label it matches on, is in /metrics after the events the rules are about (a failed refresh, a 5xx, an
upstream 429, a budgeted key's spend); the gauges the rules compare carry the right values."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes import faults as F
from tests.fakes import scripts as S
from tests.fixtures.gateway import GatewayHandle
from tests.fixtures.moto_server import REPO

RULES = REPO / "deploy" / "prometheus-alerts.yml"
METRICS_TOKEN = "metrics-token-for-the-rules"
PROMQL_WORDS = {"increase", "rate", "sum", "time", "and", "or", "unless", "by", "without", "on", "max", "min"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "rules"}]}


def _rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def _selectors(expr: str) -> dict[str, set[str]]:
    """Each metric an expression reads, with the label names its matchers use."""
    found: dict[str, set[str]] = {}
    for name, _, matchers in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{([^}]*)\})?", re.sub(r"\[[^]]*]", "", expr)):
        if name not in PROMQL_WORDS:
            labels = {m.split("=")[0].strip("!~ ") for m in matchers.split(",") if m.strip()}
            found.setdefault(name, set()).update(labels)
    return found


@pytest.fixture
def gw(tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    with F.start_gateway(tmp_path / "home", fake_ob1, metrics_token=METRICS_TOKEN) as handle:
        yield handle


def _scrape(gw: GatewayHandle) -> dict[str, list[Any]]:
    text = httpx.get(gw.base_url + "/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}).text
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def test_every_metric_the_rules_name_is_exposed(gw: GatewayHandle, fake_ob1: Any) -> None:
    gw.backends.key_store.set_budget(gw.key_id, 0.01)
    headers = {"authorization": f"Bearer {gw.key}"}
    assert httpx.post(gw.base_url + "/v1/chat/completions", json=CHAT, headers=headers).status_code == 200
    fake_ob1.enqueue(S.http_error(429, "slow down"), S.http_error(429, "slow down"), S.http_error(429, "slow down"))
    assert httpx.post(gw.base_url + "/v1/chat/completions", json=CHAT, headers=headers).status_code == 429
    fake_ob1.enqueue(*[S.http_error(500, "boom")] * 5)
    assert httpx.post(gw.base_url + "/v1/chat/completions", json=CHAT, headers=headers).status_code >= 500
    records = gw.usage_records(3)
    fake_ob1.revoke_refresh_tokens()
    fake_ob1.expire_all_tokens()  # the next call is refused upstream; the refresh that follows fails
    assert httpx.post(gw.base_url + "/v1/chat/completions", json=CHAT, headers=headers).status_code >= 400

    samples = _scrape(gw)
    rules = _rules()
    assert {r["alert"] for r in rules} >= {
        "OB1LoginRefreshFailing",
        "OB1LoginExpiresWithoutRefresh",
        "OB1Gateway5xxRate",
        "OB1UpstreamRateLimited",
        "OB1KeyBudgetNearlyUsed",
    }
    for rule in rules:
        selectors = _selectors(rule["expr"])
        assert selectors, rule["alert"]
        for metric, labels in selectors.items():
            assert metric in samples, f"{rule['alert']}: {metric} is not in /metrics"
            for label in labels:
                assert any(label in s.labels for s in samples[metric]), f"{rule['alert']}: {metric} has no {label}"

    assert [s.value for s in samples["ob1gw_token_refresh_failures_total"]] == [1.0]
    [refreshable] = samples["ob1gw_login_refreshable"]
    [expiry] = samples["ob1gw_login_expiry_timestamp_seconds"]
    stored = gw.backends.token_store.load()
    assert stored is not None and refreshable.value == 1.0 and expiry.value == stored.expires_at
    [share] = samples["ob1gw_budget_used_ratio"]
    spent = sum(r.cost_micros for r in records) / 1_000_000
    assert share.labels == {"key": "faults", "key_id": gw.key_id}
    assert share.value == pytest.approx(spent / 0.01) and share.value > 0
    upstream_429 = [s for s in samples["ob1gw_errors_total"] if s.labels["status"] == "429"]
    assert [s.labels["model"] for s in upstream_429] == ["openai/gpt-4o-mini"]  # reached the upstream


def test_a_login_without_refresh_token_is_reported(gw: GatewayHandle, fake_ob1: Any) -> None:
    from ob1_gateway.stores.base import OB1Token

    login = OB1Token.from_dict({**fake_ob1.issue_login(expires_in=600), "refresh_token": None})
    gw.backends.token_store.save(login)
    samples = _scrape(gw)
    assert [s.value for s in samples["ob1gw_login_refreshable"]] == [0.0]
    [expiry] = samples["ob1gw_login_expiry_timestamp_seconds"]
    assert 0 < expiry.value - time.time() <= 600  # the rule's `< 3 * 3600` holds: it would fire
