"""What every admin command needs: settings and backends, with settings errors shown plainly."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from ..settings import Settings, SettingsError, load_settings
from ..stores.backends import build_backends
from ..stores.base import Backends

# What ``--stack`` resolved, applied over the environment by every command of this process.
_stack_settings: dict[str, object] = {}
_stack_outputs: dict[str, str] = {}  # what --stack resolved that is not a setting (the API's URL)


def load_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**(_stack_settings | overrides))
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def backends_or_exit(settings: Settings | None = None) -> Backends:
    return build_backends(settings or load_or_exit())


def use_stack(name: str | None) -> None:
    """Point this invocation's commands at a deployed stack's secret and table (its outputs), or, with
    no name, at what the environment says."""
    _stack_settings.clear()
    _stack_outputs.clear()
    if not name:
        return
    from .stack import StackError, resolve_stack

    try:
        resolved = resolve_stack(name, endpoint_url=load_or_exit().aws_endpoint_url or None)
    except StackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _stack_settings.update(backend="aws", secret_id=resolved["secret_id"], table_name=resolved["table_name"])
    if "api_url" in resolved:
        _stack_outputs["api_url"] = resolved["api_url"]


def stack_api_url() -> str | None:
    """The ``--stack``'s API URL (its ``ApiUrl`` output), when a stack was named."""
    return _stack_outputs.get("api_url")


def when(epoch: float) -> str:
    """A moment as every command prints it: ``2026-12-31 12:00 UTC``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
