"""``ob1gw keys create|list|revoke|set-budget``: caller keys are shown once and stored as hashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..keys import issue_key
from .common import backends_or_exit

keys_app = typer.Typer(no_args_is_help=True, help="Manage the team's caller keys.")


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
    budget_usd: Annotated[float | None, typer.Option("--budget-usd", min=0, help="Monthly budget in USD.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {key_id, key} as JSON.")] = False,
) -> None:
    record, key = issue_key(name, budget_usd)
    backends_or_exit().key_store.put(record)
    if as_json:
        typer.echo(json.dumps({"key_id": record.key_id, "key": key, "name": name, "budget_usd": budget_usd}))
        return
    typer.echo(f"Created key {record.key_id} for '{name}'. It is shown only this once:\n\n  {key}\n")


@keys_app.command("list")
def list_keys(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    records = backends_or_exit().key_store.list()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "key_id": r.key_id,
                        "name": r.name,
                        "created_at": r.created_at,
                        "disabled": r.disabled,
                        "budget_usd": r.budget_usd,
                    }
                    for r in records
                ]
            )
        )
        return
    table = Table("key id", "name", "created", "status", "budget (USD/month)")
    for r in records:
        created = datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d %H:%M")
        budget = "-" if r.budget_usd is None else f"{r.budget_usd:.2f}"
        table.add_row(r.key_id, r.name, created, "revoked" if r.disabled else "active", budget)
    Console().print(table)


@keys_app.command("revoke")
def revoke(key_id: str) -> None:
    if not backends_or_exit().key_store.set_disabled(key_id, True):
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Revoked {key_id}; running gateways stop accepting it within the key cache TTL.")


@keys_app.command("set-budget")
def set_budget(
    key_id: str,
    budget_usd: Annotated[float | None, typer.Argument(min=0, help="USD per month; omit to remove.")] = None,
) -> None:
    if not backends_or_exit().key_store.set_budget(key_id, budget_usd):
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Budget of {key_id}: {'none' if budget_usd is None else f'{budget_usd:.2f} USD/month'}")
