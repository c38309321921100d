"""``ob1gw keys``: what a script reads from ``--json`` (create, list, update, rotate), against the local store,
and that the printed key works on a real gateway."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ob1_gateway.cli import app
from ob1_gateway.settings import get_settings
from typer.testing import CliRunner

from tests.fixtures.gateway import GatewayHandle

runner = CliRunner()


@pytest.fixture
def cli_home(gateway: GatewayHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[GatewayHandle]:
    """The CLI pointed at the running gateway's home (its SQLite key store)."""
    monkeypatch.setenv("OB1GW_HOME", str(gateway.settings.home))
    monkeypatch.setenv("OB1GW_BACKEND", "local")
    get_settings.cache_clear()
    yield gateway
    get_settings.cache_clear()


def _json(*args: str) -> Any:
    result = runner.invoke(app, ["keys", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _works(gw: GatewayHandle, key: str) -> bool:
    return httpx.get(gw.base_url + "/v1/models", headers={"authorization": f"Bearer {key}"}).status_code == 200


def test_rotate_json_hands_the_new_secret_to_a_script(cli_home: GatewayHandle, tmp_path: Path) -> None:
    created = _json("create", "ci-bot", "--json")
    before = time.time()
    rotated = _json("rotate", created["key_id"], "--grace", "90m", "--json")
    assert set(rotated) == {"key_id", "key", "previous_valid_until"}
    assert rotated["key_id"] == created["key_id"] and rotated["key"] != created["key"]
    assert before + 90 * 60 - 5 <= rotated["previous_valid_until"] <= time.time() + 90 * 60
    assert _works(cli_home, rotated["key"]) and _works(cli_home, created["key"])  # the old one: within the grace


def test_update_prints_a_line_or_the_key_as_json(cli_home: GatewayHandle) -> None:
    created = _json("create", "limited", "--json")
    updated = _json("update", created["key_id"], "--rpm", "120", "--models", "anthropic/*", "--json")
    assert (updated["key_id"], updated["rpm"], updated["models"]) == (created["key_id"], 120, ["anthropic/*"])
    assert updated == next(k for k in _json("list", "--json") if k["key_id"] == created["key_id"])
    plain = runner.invoke(app, ["keys", "update", created["key_id"], "--clear", "rpm"])
    assert plain.exit_code == 0 and plain.stdout.startswith(f"Updated {created['key_id']}: models=")
    assert "rpm" not in plain.stdout


def test_a_daily_search_allowance_is_set_shown_and_cleared(cli_home: GatewayHandle) -> None:
    created = _json("create", "researcher", "--searches-per-day", "50", "--json")
    assert created["searches_per_day"] == 50
    assert cli_home.backends.key_store.get(created["key_id"]).policy.searches_per_day == 50  # type: ignore[union-attr]
    updated = _json("update", created["key_id"], "--searches-per-day", "5", "--json")
    assert updated["searches_per_day"] == 5
    plain = runner.invoke(app, ["keys", "update", created["key_id"], "--clear", "searches-per-day"])
    assert plain.exit_code == 0 and "searches_per_day" not in plain.stdout, plain.stdout
    assert cli_home.backends.key_store.get(created["key_id"]).policy.searches_per_day is None  # type: ignore[union-attr]
    refused = runner.invoke(app, ["keys", "create", "bad", "--searches-per-day", "0"])
    assert refused.exit_code == 2
