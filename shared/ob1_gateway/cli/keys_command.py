"""``ob1gw keys create|list|update|rotate|revoke|set-budget``: caller keys are shown once and stored as
hashes; their limits (rate, models, expiry, budget) travel with the key record."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from ..access.budgets import month_of, month_start
from ..access.keys import expired, issue_key, parse_duration, parse_expiry, rotate_key
from ..metering.pricing import format_usd
from ..stores.base import Backends, KeyPolicy, KeyRecord
from .common import backends_or_exit, when

keys_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Manage the team's caller keys.")


RpmOption = Annotated[int | None, typer.Option("--rpm", min=1, help="Requests per minute.")]
TpmOption = Annotated[int | None, typer.Option("--tpm", min=1, help="Tokens per minute (prompt + output).")]
ParallelOption = Annotated[int | None, typer.Option("--max-parallel", min=1, help="Requests in flight at once.")]
SearchesOption = Annotated[
    int | None,
    typer.Option("--searches-per-day", min=1, help="Web searches per UTC day (when the gateway runs web search)."),
]
ModelsOption = Annotated[
    str | None,
    typer.Option("--models", help="Comma-separated model patterns it may use, e.g. 'anthropic/*,gpt-4o*'."),
]
ExpiresOption = Annotated[
    str | None, typer.Option("--expires", help="30d, 12h, 2w, or an ISO date (UTC): when the key stops working.")
]
BudgetOption = Annotated[
    float | None, typer.Option("--budget-usd", min=0, help="Monthly budget in USD (requests stop when it is spent).")
]
KeyIdArgument = Annotated[str, typer.Argument(help="The key's id (`ob1gw keys list`).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table or a sentence.")]


def _policy(
    base: KeyPolicy,
    rpm: int | None,
    tpm: int | None,
    parallel: int | None,
    models: str | None,
    expires: str | None,
    searches: int | None = None,
) -> KeyPolicy:
    changes: dict[str, Any] = {}
    for name, value in (("rpm", rpm), ("tpm", tpm), ("max_parallel", parallel), ("searches_per_day", searches)):
        if value is not None:
            changes[name] = value
    if models is not None:
        changes["models"] = tuple(p.strip() for p in models.split(",") if p.strip())
    if expires is not None:
        try:
            changes["expires_at"] = parse_expiry(expires)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--expires") from None
    return replace(base, **changes)


_LIMITS = ("rpm", "tpm", "max_parallel", "searches_per_day", "models", "expires_at")


def _describe(record: KeyRecord) -> dict[str, Any]:
    p = record.policy
    return {
        "key_id": record.key_id,
        "name": record.name,
        "created_at": record.created_at,
        "disabled": record.disabled,
        "budget_usd": record.budget_usd,
        "rpm": p.rpm,
        "tpm": p.tpm,
        "max_parallel": p.max_parallel,
        "searches_per_day": p.searches_per_day,
        "models": list(p.models),
        "expires_at": p.expires_at,
    }


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
    budget_usd: BudgetOption = None,
    rpm: RpmOption = None,
    tpm: TpmOption = None,
    max_parallel: ParallelOption = None,
    searches_per_day: SearchesOption = None,
    models: ModelsOption = None,
    expires: ExpiresOption = None,
    allow_duplicate_name: Annotated[
        bool, typer.Option("--allow-duplicate-name", help="Create it even if a key already has this name.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key (with its secret) as JSON.")] = False,
) -> None:
    """Create a key; its secret is shown once (only its hash is stored)."""
    store = backends_or_exit().key_store
    same = [r.key_id for r in store.list() if r.name == name]
    if same and not allow_duplicate_name:
        typer.echo(
            f"error: a key named '{name}' exists ({', '.join(same)}); choose another name, or pass "
            "--allow-duplicate-name",
            err=True,
        )
        raise typer.Exit(1)
    policy = _policy(KeyPolicy(), rpm, tpm, max_parallel, models, expires, searches_per_day)
    record, key = issue_key(name, budget_usd, policy)
    store.put(record)
    if as_json:
        typer.echo(json.dumps({**_describe(record), "key": key}))
        return
    typer.echo(f"Created key {record.key_id} for '{name}'. It is shown only this once:\n\n  {key}\n")


def _changed_under_us(key_id: str) -> NoReturn:
    typer.echo(
        f"error: key {key_id} changed while this ran (rotated, or removed); nothing was written: run it again",
        err=True,
    )
    raise typer.Exit(1)


@keys_app.command("update")
def update(
    key_id: KeyIdArgument,
    budget_usd: BudgetOption = None,
    rpm: RpmOption = None,
    tpm: TpmOption = None,
    max_parallel: ParallelOption = None,
    searches_per_day: SearchesOption = None,
    models: ModelsOption = None,
    expires: ExpiresOption = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(
            "--clear",
            metavar="LIMIT",
            help="Remove a limit: rpm, tpm, max-parallel, searches-per-day, models, expires or budget (repeatable).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the updated key as JSON (as `keys list --json`).")
    ] = False,
) -> None:
    """Change a key's limits and budget; running gateways apply them within the key cache TTL."""
    backends = backends_or_exit()
    store = backends.key_store
    record = store.get(key_id)
    if record is None:
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(1)
    policy = _policy(record.policy, rpm, tpm, max_parallel, models, expires, searches_per_day)
    cleared: dict[str, Any] = {
        "rpm": None,
        "tpm": None,
        "max-parallel": None,
        "searches-per-day": None,
        "models": (),
        "expires": None,
    }
    budget, budget_changed = record.budget_usd, budget_usd is not None
    if budget_changed:
        budget = budget_usd
    for name in clear or []:
        if name == "budget":
            budget, budget_changed = None, True
            continue
        if name not in cleared:
            raise typer.BadParameter(f"one of {', '.join([*cleared, 'budget'])}", param_hint="--clear")
        field_name = {
            "max-parallel": "max_parallel",
            "expires": "expires_at",
            "searches-per-day": "searches_per_day",
        }.get(name, name)
        policy = replace(policy, **{field_name: cleared[name]})
    if not store.set_secret_and_policy(key_id, record.secret_sha256, policy, expected_sha256=record.secret_sha256):
        _changed_under_us(key_id)
    if budget_changed and not store.set_budget(key_id, budget):
        _changed_under_us(key_id)
    described = _describe(replace(record, policy=policy, budget_usd=budget))
    described["spent_this_month_usd"] = _spent_this_month(backends, key_id).get(key_id, 0.0)
    if as_json:
        typer.echo(json.dumps(described))
        return
    typer.echo(f"Updated {key_id}: {_limits_sentence(described)}.")


def _spent_this_month(backends: Backends, key_id: str | None = None) -> dict[str, float]:
    """USD spent this UTC month, by key id (the month the budgets count)."""
    since = month_start(month_of(time.time()))
    totals = backends.usage_store.totals(since=since, key_id=key_id, group_by=("key_id",))
    return {t.key_id: t.cost_usd for t in totals if t.key_id is not None}


def _limits_sentence(described: dict[str, Any]) -> str:
    """A key's limits as one readable phrase: ``rpm=60, budget $5.00/month, expires 2026-12-31 12:00 UTC``."""
    parts = []
    for name in _LIMITS:
        value = described.get(name)
        if value in (None, []):
            continue
        if name == "expires_at":
            parts.append(f"expires {when(value)}")
        elif name == "models":
            parts.append(f"models={','.join(value)}")
        else:
            parts.append(f"{name}={value}")
    if described.get("budget_usd") is not None:
        parts.append(f"budget {format_usd(described['budget_usd'])}/month")
    return ", ".join(parts) or "no limits"


@keys_app.command("rotate")
def rotate(
    key_id: KeyIdArgument,
    grace: Annotated[
        str, typer.Option("--grace", help="How long the old secret keeps working: 0, 90m, 24h, 7d.")
    ] = "24h",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {key_id, key, previous_valid_until} as JSON (epoch seconds).")
    ] = False,
) -> None:
    """A new secret for the same key id: usage history and budget stay; the old secret is refused after
    the grace period."""
    store = backends_or_exit().key_store
    record = store.get(key_id)
    if record is None:
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(1)
    grace_seconds = 0.0 if grace.strip() == "0" else parse_duration(grace)
    if grace_seconds is None:
        raise typer.BadParameter(f"not 0 or a duration (90m, 24h, 7d, 2w): {grace!r}", param_hint="--grace")
    sha, policy, key = rotate_key(record, grace_seconds)
    if not store.set_secret_and_policy(key_id, sha, policy, expected_sha256=record.secret_sha256):
        _changed_under_us(key_id)
    if as_json:
        typer.echo(json.dumps({"key_id": key_id, "key": key, "previous_valid_until": policy.previous_valid_until}))
        return
    old = (
        "the old secret no longer works"
        if grace_seconds == 0
        else f"the old secret works until {when(policy.previous_valid_until or 0)}"
    )
    typer.echo(f"Rotated {key_id}; {old}. The new key is shown only this once:")
    typer.echo(f"\n  {key}\n")


@keys_app.command("list")
def list_keys(as_json: JsonOption = False) -> None:
    """List the keys: status, this month's spend against the budget, limits, models, expiry."""
    backends = backends_or_exit()
    records = backends.key_store.list()
    now = time.time()
    month = month_of(now)
    spent = _spent_this_month(backends)
    if as_json:
        typer.echo(json.dumps([{**_describe(r), "spent_this_month_usd": spent.get(r.key_id, 0.0)} for r in records]))
        return
    table = Table("key id", "name", "created", "status", f"spent {month} / budget", "limits", "models", "expires")
    for r in records:
        p = r.policy
        created = datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d")
        used = format_usd(spent.get(r.key_id, 0.0))
        budget = used if r.budget_usd is None else f"{used} / {format_usd(r.budget_usd)}"
        limits = " ".join(
            f"{label} {value}"
            for label, value in (
                ("rpm", p.rpm),
                ("tpm", p.tpm),
                ("par", p.max_parallel),
                ("search/d", p.searches_per_day),
            )
            if value
        )
        status = "revoked" if r.disabled else ("expired" if expired(p, now) else "active")
        expires = "-" if p.expires_at is None else datetime.fromtimestamp(p.expires_at, UTC).strftime("%Y-%m-%d")
        table.add_row(r.key_id, r.name, created, status, budget, limits or "-", ",".join(p.models) or "any", expires)
    Console().print(table)


@keys_app.command("revoke")
def revoke(key_id: KeyIdArgument) -> None:
    """Revoke a key: it is refused from then on (its usage history stays)."""
    if not backends_or_exit().key_store.set_disabled(key_id, True):
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Revoked {key_id}; running gateways stop accepting it within the key cache TTL.")


@keys_app.command("set-budget")
def set_budget(
    key_id: KeyIdArgument,
    budget_usd: Annotated[float | None, typer.Argument(min=0, help="USD per month; omit to remove.")] = None,
) -> None:
    """Set or remove a key's monthly budget (the same as `keys update KEY --budget-usd` / `--clear budget`)."""
    if not backends_or_exit().key_store.set_budget(key_id, budget_usd):
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Budget of {key_id}: {'none' if budget_usd is None else f'{format_usd(budget_usd)}/month'}")
