"""``ob1gw usage``: totals per key and model from the usage store."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .common import backends_or_exit


def usage(
    as_json: Annotated[bool, typer.Option("--json", help="Print the totals as JSON.")] = False,
    key: Annotated[str | None, typer.Option("--key", help="Only this key id.")] = None,
) -> None:
    """Print usage totals per key and model."""
    backends = backends_or_exit()
    totals = backends.usage_store.totals(key_id=key, group_by=("key_id", "model"))
    names = {r.key_id: r.name for r in backends.key_store.list()}
    if as_json:
        rows = []
        for t in totals:
            row = {k: v for k, v in asdict(t).items() if k != "day"}
            rows.append(row | {"key_name": names.get(t.key_id or ""), "cost_usd": t.cost_usd})
        typer.echo(json.dumps(rows))
        return
    table = Table("key", "model", "requests", "input", "output", "cache read", "cache write", "cost (USD)")
    for t in totals:
        label = f"{names.get(t.key_id or '', '?')} ({t.key_id})"
        table.add_row(label, t.model or "", str(t.requests), str(t.input_tokens), str(t.output_tokens),
                      str(t.cache_read_tokens), str(t.cache_write_tokens), f"{t.cost_usd:.6f}")
    Console().print(table)
