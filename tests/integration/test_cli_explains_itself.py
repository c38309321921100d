"""The CLI explains itself (issue 32): every command and option has a line of help, ``--version``; key names
are unique unless asked; budgets are set where keys are; money, dates and durations read the same everywhere;
``usage --key`` takes a name, ``--since 7d``, ``--by week``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from ob1_gateway import __version__
from ob1_gateway.cli import app
from ob1_gateway.metering.pricing import format_usd
from ob1_gateway.settings import get_settings
from ob1_gateway.stores.base import UsageRecord
from typer.testing import CliRunner

from tests.fixtures.gateway import GatewayHandle

runner = CliRunner()


@pytest.fixture
def cli_home(gateway: GatewayHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[GatewayHandle]:
    monkeypatch.setenv("OB1GW_HOME", str(gateway.settings.home))
    monkeypatch.setenv("OB1GW_BACKEND", "local")
    get_settings.cache_clear()
    yield gateway
    get_settings.cache_clear()


def ob1gw(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def _commands(group: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    for name, command in group.commands.items():
        yield f"{path} {name}".strip(), command
        if hasattr(command, "commands"):  # a group (typer's own click)
            yield from _commands(command, f"{path} {name}")


def test_every_command_and_option_has_a_line_of_help() -> None:
    root = typer.main.get_command(app)
    missing = []
    commands = list(_commands(root))
    assert len(commands) > 10
    for name, command in commands:
        if not (command.help or command.short_help):
            missing.append(name)
        for param in command.params:
            if param.param_type_name == "option" and not getattr(param, "help", None):
                missing.append(f"{name} {param.opts[0]}")
    assert missing == []


def test_version() -> None:
    assert ob1gw("--version").strip() == f"ob1gw {__version__}"


def test_money_to_the_precision_it_has() -> None:
    assert [format_usd(x) for x in (0, 5, 12.5, 0.004, 1.234, 0.01)] == [
        "$0.00", "$5.00", "$12.50", "$0.004", "$1.234", "$0.01",
    ]  # fmt: skip


def test_key_names_are_unique_unless_asked(cli_home: GatewayHandle) -> None:
    ob1gw("keys", "create", "alice")
    said = ob1gw("keys", "create", "alice", code=1)
    assert "a key named 'alice' exists" in said and "--allow-duplicate-name" in said
    ob1gw("keys", "create", "alice", "--allow-duplicate-name")


def test_budgets_dates_and_spend_where_keys_are(cli_home: GatewayHandle) -> None:
    created = json.loads(ob1gw("keys", "create", "bob", "--json"))
    key_id = created["key_id"]
    said = ob1gw("keys", "update", key_id, "--budget-usd", "0.004", "--expires", "2030-01-02T03:04:00")
    assert "budget $0.004/month" in said and "expires 2030-01-02 03:04 UTC" in said
    assert "1893" not in said  # no epoch seconds
    cli_home.backends.usage_store.record(
        UsageRecord("r-1", key_id, "m/a", "/v1/messages", False, 200, cost_micros=1_500, ts=time.time())
    )
    [listed] = [k for k in json.loads(ob1gw("keys", "list", "--json")) if k["key_id"] == key_id]
    assert listed["budget_usd"] == 0.004 and listed["spent_this_month_usd"] == 0.0015
    assert "$0.0015 / $0.004" in ob1gw("keys", "list")
    cleared = json.loads(ob1gw("keys", "update", key_id, "--clear", "budget", "--json"))
    assert cleared["budget_usd"] is None
    assert "no longer works" in ob1gw("keys", "rotate", key_id, "--grace", "0")


def test_usage_by_key_name_since_a_duration_by_week(cli_home: GatewayHandle) -> None:
    store = cli_home.backends.usage_store
    carol = json.loads(ob1gw("keys", "create", "carol", "--json"))["key_id"]
    now = time.time()
    for i, ago_days in enumerate((1, 2, 20)):
        store.record(
            UsageRecord(f"c-{i}", carol, "m/a", "/v1/messages", False, 200, cost_micros=10, ts=now - ago_days * 86_400)
        )
    rows: list[dict[str, Any]] = json.loads(ob1gw("usage", "--key", "carol", "--since", "7d", "--json"))
    assert sum(r["requests"] for r in rows) == 2  # the request 20 days ago is outside
    weeks = json.loads(ob1gw("usage", "--key", carol, "--by", "week", "--json"))
    assert all(r["week"].count("-W") == 1 for r in weeks) and sum(r["requests"] for r in weeks) == 3
    json.loads(ob1gw("keys", "create", "carol", "--allow-duplicate-name", "--json"))
    ambiguous = ob1gw("usage", "--key", "carol", code=2)
    assert "2 keys are named 'carol'" in ambiguous and carol in ambiguous
    assert "no key has the id or the name" in ob1gw("usage", "--key", "nobody", code=2)
