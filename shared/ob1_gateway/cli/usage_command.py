"""``ob1gw usage``: usage totals from the configured store (SQLite, or a stack's DynamoDB table with
``--stack``), grouped by any of day, model, key and session, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from ..access.keys import parse_duration
from ..stores.base import USAGE_COUNTERS, Backends, UsageTotal
from .common import backends_or_exit, use_stack

# --by value -> UsageStore group field ("week": the days, summed here by ISO week)
DIMENSIONS = {"day": "day", "week": "week", "model": "model", "key": "key_id", "session": "session_id"}
COUNTERS = USAGE_COUNTERS  # estimated_requests: of the requests, those whose tokens are estimated


def _date(value: str | None, option: str) -> datetime | None:
    """A UTC day (YYYY-MM-DD), or a duration back from now (7d, 12h, 2w: as ``keys create --expires`` takes)."""
    if value is None:
        return None
    back = parse_duration(value)
    if back is not None:
        return datetime.fromtimestamp(time.time() - back, UTC)
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


def _group_by(by: list[str] | None) -> tuple[str, ...]:
    names: list[str] = []
    for item in by or ["key,model"]:
        for name in (part.strip().lower() for part in item.split(",")):
            if not name:
                continue
            if name not in DIMENSIONS:
                raise typer.BadParameter(f"{name!r}: choose from day, week, model, key, session", param_hint="--by")
            if DIMENSIONS[name] not in names:
                names.append(DIMENSIONS[name])
    return tuple(names) or ("key_id", "model")


def _key_id(backends: Backends, key: str) -> str:
    """The id of the key ``key`` names (an id, or a name that only one key has)."""
    records = backends.key_store.list()
    if any(r.key_id == key for r in records):
        return key
    named = [r.key_id for r in records if r.name == key]
    if len(named) == 1:
        return named[0]
    if not named and re.fullmatch(r"[0-9a-f]{12}", key):  # the id of a key that is gone: its usage stays
        return key
    if named:
        ids = ", ".join(named)
        raise typer.BadParameter(f"{len(named)} keys are named {key!r}: give one id of {ids}", param_hint="--key")
    raise typer.BadParameter(f"no key has the id or the name {key!r} (`ob1gw keys list`)", param_hint="--key")


def _by_week(totals: list[UsageTotal], group_by: tuple[str, ...]) -> list[UsageTotal]:
    """Day totals summed by ISO week (``2026-W49``), the other groups kept."""
    sums: dict[tuple[Any, ...], list[int]] = {}
    for t in totals:
        year, week, _ = datetime.strptime(t.day or "1970-01-01", "%Y-%m-%d").isocalendar()
        label = {**{g: getattr(t, g, None) for g in group_by if g != "week"}, "week": f"{year}-W{week:02d}"}
        group = tuple(label[g] for g in group_by)
        acc = sums.setdefault(group, [0] * len(COUNTERS))
        for i, name in enumerate(COUNTERS):
            acc[i] += getattr(t, name)
    weeks = []
    for group in sorted(sums, key=lambda g: tuple(str(v) for v in g)):
        values = dict(zip(group_by, group, strict=True))
        counters = dict(zip(COUNTERS, sums[group], strict=True))
        weeks.append(
            UsageTotal(
                key_id=values.get("key_id"),
                model=values.get("model"),
                day=values["week"],  # the week's label, in the day column's place
                session_id=values.get("session_id"),
                **counters,
            )
        )
    return weeks


def rows_of(totals: list[UsageTotal], group_by: tuple[str, ...], names: dict[str, str]) -> list[dict[str, Any]]:
    """One dict per group: the grouped fields (``key_name`` with ``key_id``), the counters, ``cost_usd``."""
    rows = []
    for t in totals:
        row: dict[str, Any] = {}
        for field in group_by:
            row[field] = t.day if field == "week" else getattr(t, field)  # a week's label rides in ``day``
            if field == "key_id":
                row["key_name"] = names.get(t.key_id or "")
        row.update({c: getattr(t, c) for c in COUNTERS})
        row["cost_usd"] = t.cost_usd
        rows.append(row)
    return rows


def usage(
    since: Annotated[
        str | None,
        typer.Option("--since", help="First UTC day included (YYYY-MM-DD), or how far back (7d, 12h). Default: all."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last UTC day included (YYYY-MM-DD). Default: today.")
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="Only this key (its name or its id).")] = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            metavar="GROUPS",
            help="Group by day, week, model, key and/or session (the client's session id; repeat or "
            "comma-separate). Default: key,model.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the rows as CSV.")] = False,
    stack: Annotated[
        str | None, typer.Option("--stack", help="Read a deployed stack's table (same as `ob1gw --stack`).")
    ] = None,
) -> None:
    """Print usage totals (requests, tokens, cost), by key and model unless --by says otherwise."""
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv", param_hint="--json/--csv")
    start, end = _date(since, "--since"), _date(until, "--until")
    if start and end and end < start:
        raise typer.BadParameter("--until is before --since", param_hint="--until")
    group_by = _group_by(by)
    if stack:
        use_stack(stack)
    backends = backends_or_exit()
    key_id = _key_id(backends, key) if key is not None else None
    stored = tuple(dict.fromkeys("day" if g == "week" else g for g in group_by))
    totals = backends.usage_store.totals(
        since=start.timestamp() if start else None,
        until=(end + timedelta(days=1)).timestamp() if end else None,  # --until is inclusive
        key_id=key_id,
        group_by=stored,
    )
    if "week" in group_by:
        totals = _by_week(totals, group_by)
    names = {r.key_id: r.name for r in backends.key_store.list()} if "key_id" in group_by else {}
    rows = rows_of(totals, group_by, names)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if as_csv:
        fields = list(rows[0]) if rows else [*_headers(group_by), *COUNTERS, "cost_usd"]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    _print_table(rows, group_by, since, until)


def _headers(group_by: tuple[str, ...]) -> list[str]:
    out = []
    for field in group_by:
        out += ["key_id", "key_name"] if field == "key_id" else [field]
    return out


def _count(n: int) -> str:
    """A count that stays narrow: 1,234 · 56.7k · 8.9M."""
    if n < 100_000:
        return f"{n:,}"
    return f"{n / 1_000:.0f}k" if n < 1_000_000 else f"{n / 1_000_000:.1f}M"


def _print_table(rows: list[dict[str, Any]], group_by: tuple[str, ...], since: str | None, until: str | None) -> None:
    """Readable in an 80-column terminal: keys by name (the id only where two keys share a name), model ids
    whole, counts compact, the cache column only when there is cache use; labels wrap rather than cut."""
    if not rows:
        Console().print("no usage recorded in this window")
        return
    window = f"{since or 'start'} .. {until or 'today'} (UTC)"
    table = Table(title=f"ob1-gateway usage, {window}", show_footer=True, box=box.SIMPLE_HEAD, pad_edge=False)
    total = {c: sum(r[c] for r in rows) for c in COUNTERS}
    ids_by_name: dict[str, set[str]] = {}
    for r in rows:
        if "key_id" in r:
            ids_by_name.setdefault(r.get("key_name") or "?", set()).add(r["key_id"])
    shared_names = {name for name, ids in ids_by_name.items() if len(ids) > 1 or name == "?"}
    titles = {"key_id": "key", "day": "day", "week": "week", "model": "model", "session_id": "session"}
    for i, field in enumerate(group_by):
        # model ids are read whole (a cut one names another model); anything else may wrap
        widest = max((len(str(r.get(field) or "")) for r in rows), default=0) if field == "model" else None
        table.add_column(titles[field], footer="total" if i == 0 else "", overflow="fold", min_width=widest)
    counters = [("req", "requests"), ("in", "input_tokens"), ("out", "output_tokens")]
    with_cache = bool(total["cache_read_tokens"] or total["cache_write_tokens"])
    for column, counter in counters:
        table.add_column(column, justify="right", footer=_count(total[counter]), no_wrap=True)
    if with_cache:
        cache_total = f"{_count(total['cache_read_tokens'])}/{_count(total['cache_write_tokens'])}"
        table.add_column("cache r/w", justify="right", footer=cache_total, no_wrap=True)
    with_web = bool(total["web_searches"] or total["web_fetches"])
    if with_web:  # the gateway's web tools (their cost is in USD)
        web_total = f"{_count(total['web_searches'])}/{_count(total['web_fetches'])}"
        table.add_column("web s/f", justify="right", footer=web_total, no_wrap=True)
    table.add_column("USD", justify="right", footer=f"{total['cost_micros'] / 1_000_000:.6f}", no_wrap=True)
    for r in rows:
        labels = []
        for field in group_by:
            if field == "key_id":
                name = r.get("key_name") or "?"
                labels.append(f"{name} ({r['key_id']})" if name in shared_names else name)
            else:
                labels.append(str(r[field] or ("(none)" if field == "session_id" else "")))
        cells = [_count(r[c]) for _, c in counters]
        if with_cache:
            cells.append(f"{_count(r['cache_read_tokens'])}/{_count(r['cache_write_tokens'])}")
        if with_web:
            cells.append(f"{_count(r['web_searches'])}/{_count(r['web_fetches'])}")
        table.add_row(*labels, *cells, f"{r['cost_usd']:.6f}" + ("*" if r["estimated_requests"] else ""))
    if total["estimated_requests"]:
        table.caption = (
            f"* includes {total['estimated_requests']} request(s) with estimated tokens: the client left a stream "
            "before the upstream reported its usage"
        )
    Console().print(table)
