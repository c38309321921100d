"""``ob1gw usage``: table, JSON and CSV; --since/--until/--key/--by; local SQLite and AWS (moto, --stack)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ob1_gateway.access.keys import issue_key
from ob1_gateway.cli import app
from ob1_gateway.settings import get_settings
from ob1_gateway.stores.backends import build_backends
from ob1_gateway.stores.base import Backends, UsageRecord
from typer.testing import CliRunner

runner = CliRunner()


def _ts(day: str, hour: int = 12) -> float:
    return datetime.strptime(day, "%Y-%m-%d").replace(hour=hour, tzinfo=UTC).timestamp()


def _seed(backends: Backends) -> dict[str, str]:
    alice, _ = issue_key("alice")
    bob, _ = issue_key("bob")
    backends.key_store.put(alice)
    backends.key_store.put(bob)
    rows = [  # key, model, day, input, output, cost_micros, estimated (the client left a stream)
        (alice.key_id, "m/a", "2025-05-01", 100, 10, 1_000, False),
        (alice.key_id, "m/a", "2025-05-01", 200, 20, 2_000, False),
        (alice.key_id, "m/b", "2025-05-02", 300, 30, 3_000, False),
        (bob.key_id, "m/a", "2025-05-02", 400, 40, 4_000, False),
        (bob.key_id, "m/a", "2025-05-03", 500, 50, 5_000, True),
    ]
    for i, (key_id, model, day, inp, out, cost, estimated) in enumerate(rows):
        backends.usage_store.record(
            UsageRecord(
                request_id=f"r{i}", key_id=key_id, model=model, route="/v1/messages", stream=False, status=200,
                input_tokens=inp, output_tokens=out, cache_read_tokens=1, cache_write_tokens=2, cost_micros=cost,
                ts=_ts(day), estimated=estimated,
            )
        )  # fmt: skip
    return {"alice": alice.key_id, "bob": bob.key_id}


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("OB1GW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OB1GW_BACKEND", "local")
    get_settings.cache_clear()
    yield _seed(build_backends(get_settings()))
    get_settings.cache_clear()


def _run(*args: str) -> str:
    result = runner.invoke(app, ["usage", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_json_default_keeps_the_existing_keys(local: dict[str, str]) -> None:
    rows = json.loads(_run("--json"))
    assert [(r["key_name"], r["model"], r["requests"]) for r in rows] == sorted(
        [("alice", "m/a", 2), ("alice", "m/b", 1), ("bob", "m/a", 2)], key=lambda r: (local[r[0]], r[1])
    )
    for row in rows:  # what tests/e2e/test_cli_flow.py and scripts read
        assert {"key_id", "key_name", "model", "requests", "input_tokens", "output_tokens", "cost_micros"} <= set(row)
    alice_a = next(r for r in rows if r["key_name"] == "alice" and r["model"] == "m/a")
    assert (alice_a["input_tokens"], alice_a["output_tokens"], alice_a["cost_micros"]) == (300, 30, 3_000)
    assert alice_a["cost_usd"] == 0.003 and alice_a["cache_read_tokens"] == 2 and alice_a["cache_write_tokens"] == 4


def test_by_day_window_and_key(local: dict[str, str]) -> None:
    rows = json.loads(_run("--json", "--by", "day"))
    assert [(r["day"], r["requests"], r["cost_micros"], r["estimated_requests"]) for r in rows] == [
        ("2025-05-01", 2, 3_000, 0), ("2025-05-02", 2, 7_000, 0), ("2025-05-03", 1, 5_000, 1)
    ]  # fmt: skip
    assert set(rows[0]) == {"day", "requests", "input_tokens", "output_tokens", "cache_read_tokens",
                            "cache_write_tokens", "cost_micros", "estimated_requests", "web_searches",
                            "web_fetches", "cost_usd"}  # fmt: skip
    # --until is inclusive; --since/--until are UTC days
    rows = json.loads(_run("--json", "--by", "day", "--since", "2025-05-02", "--until", "2025-05-02"))
    assert [(r["day"], r["requests"]) for r in rows] == [("2025-05-02", 2)]
    rows = json.loads(_run("--json", "--by", "model", "--by", "key", "--key", local["bob"]))
    assert [(r["model"], r["key_id"], r["key_name"], r["requests"]) for r in rows] == [("m/a", local["bob"], "bob", 2)]
    rows = json.loads(_run("--json", "--by", "day,model"))
    assert [(r["day"], r["model"]) for r in rows] == [
        ("2025-05-01", "m/a"), ("2025-05-02", "m/a"), ("2025-05-02", "m/b"), ("2025-05-03", "m/a")
    ]  # fmt: skip


def test_csv(local: dict[str, str]) -> None:
    rows = list(csv.DictReader(io.StringIO(_run("--csv", "--by", "key"))))
    assert list(rows[0]) == ["key_id", "key_name", "requests", "input_tokens", "output_tokens",
                             "cache_read_tokens", "cache_write_tokens", "cost_micros", "estimated_requests",
                             "web_searches", "web_fetches", "cost_usd"]  # fmt: skip
    by_name = {r["key_name"]: r for r in rows}
    assert by_name["alice"]["requests"] == "3" and by_name["alice"]["cost_micros"] == "6000"
    assert by_name["bob"]["cost_usd"] == "0.009" and by_name["bob"]["key_id"] == local["bob"]
    empty = _run("--csv", "--since", "2030-01-01")
    assert empty.strip().splitlines() == [
        "key_id,key_name,model,requests,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,"
        "cost_micros,estimated_requests,web_searches,web_fetches,cost_usd"
    ]


def test_table(local: dict[str, str]) -> None:
    out = _run("--by", "key,model")
    assert "alice" in out and "bob" in out and local["alice"] not in out, "unique names need no id"
    assert "m/b" in out and "0.003000" in out
    assert "total" in out and "1,500" in out and "0.015000" in out  # footer: all input tokens and cost
    assert "cache r/w" in out and "5/10" in out
    assert "0.009000*" in out and "1 request(s) with estimated tokens" in out  # bob's left stream
    assert "no usage recorded" in _run("--since", "2030-01-01")


def test_table_fits_80_columns_with_real_model_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OB1GW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OB1GW_BACKEND", "local")
    get_settings.cache_clear()
    backends = build_backends(get_settings())
    models = ("anthropic/claude-sonnet-4.5", "anthropic/claude-haiku-4.5", "openai/gpt-4o-mini")
    for n, name in enumerate(("alice.smith", "bob", "bob")):  # two keys named bob: those show their id
        record, _ = issue_key(name)
        backends.key_store.put(record)
        for m, model in enumerate(models):
            backends.usage_store.record(
                UsageRecord(
                    request_id=f"{n}-{m}", key_id=record.key_id, model=model, route="/v1/messages", stream=False,
                    status=200, input_tokens=1_234_567, output_tokens=98_765, cost_micros=12_345_678,
                )
            )  # fmt: skip
    result = runner.invoke(app, ["usage", "--by", "key,model"], env={"COLUMNS": "80"})
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80, result.output
    assert "…" not in result.output, "nothing is cut"
    for model in models:
        assert sum(model in line for line in lines) == 3, result.output
    assert "alice.smith" in result.output and result.output.count("bob (") == 6


def test_bad_options(local: dict[str, str]) -> None:
    for args in (
        ["--by", "hour"],
        ["--since", "May 1"],
        ["--json", "--csv"],
        ["--since", "2025-05-03", "--until", "2025-05-01"],
    ):
        result = runner.invoke(app, ["usage", *args])
        assert result.exit_code == 2, (args, result.output)


def test_aws_backend_and_stack(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The same command over DynamoDB (moto); ``--stack`` points it at the stack's table."""
    keys = _seed(build_backends(get_settings()))
    rows = json.loads(_run("--json", "--by", "key", "--since", "2025-05-01", "--until", "2025-05-03"))
    assert {(r["key_name"], r["requests"], r["cost_micros"], r["estimated_requests"]) for r in rows} == {
        ("alice", 3, 6_000, 0),
        ("bob", 2, 9_000, 1),
    }
    mid_day = json.loads(_run("--json", "--by", "key", "--key", keys["bob"]))  # REQ items, not DAY counters
    assert [(r["requests"], r["estimated_requests"]) for r in mid_day] == [(2, 1)]

    from ob1_gateway.cli import stack

    seen: list[str] = []

    def resolve(name: str, **_: Any) -> dict[str, str]:
        seen.append(name)
        return {"secret_id": aws_env["OB1GW_SECRET_ID"], "table_name": aws_env["OB1GW_TABLE_NAME"]}

    monkeypatch.setattr(stack, "resolve_stack", resolve)
    monkeypatch.setenv("OB1GW_BACKEND", "local")  # --stack must switch to the AWS backend by itself
    monkeypatch.delenv("OB1GW_TABLE_NAME")
    get_settings.cache_clear()
    rows = json.loads(_run("--stack", "team-gw", "--json", "--by", "day", "--key", keys["alice"]))
    assert seen == ["team-gw"]
    assert [(r["day"], r["requests"]) for r in rows] == [("2025-05-01", 2), ("2025-05-02", 1)]
