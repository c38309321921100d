"""``ob1gw statusline``: Claude Code's status line showing the key's spend this month against its budget.

Claude Code runs it with its own environment (the gateway's URL and the key, as ``ob1gw setup claude-code``
printed them) and the session as JSON on stdin, which is not needed here. It asks ``GET /v1/usage`` (the key's
own usage) and prints one short line; when the gateway cannot be asked it says so in the line, never with a
traceback (a status line must stay quiet)."""

from __future__ import annotations

import os
import sys

import httpx
import typer

from ..metering.pricing import format_usd


def statusline() -> None:
    """One line for Claude Code's status line: this month's spend of the key against its budget."""
    if not sys.stdin.isatty():
        sys.stdin.read()  # Claude Code's session JSON: read so it never blocks on a full pipe
    base = os.environ.get("ANTHROPIC_BASE_URL") or os.environ.get("OB1GW_URL") or ""
    key = (
        os.environ.get("ANTHROPIC_AUTH_TOKEN") or os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("OB1GW_API_KEY")
    )
    if not base or not key:
        typer.echo("ob1 · no gateway set (ob1gw setup claude-code)")
        return
    try:
        answer = httpx.get(f"{base.rstrip('/')}/v1/usage", headers={"authorization": f"Bearer {key}"}, timeout=3.0)
        usage = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        usage = None
    if not isinstance(usage, dict):
        typer.echo("ob1 · usage unavailable")
        return
    spent, budget = float(usage.get("spent_usd") or 0.0), usage.get("budget_usd")
    if budget:
        typer.echo(f"ob1 · {format_usd(spent)} of {format_usd(budget)} this month ({spent / budget:.0%})")
    else:
        typer.echo(f"ob1 · {format_usd(spent)} this month")
