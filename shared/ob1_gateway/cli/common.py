"""What every admin command needs: settings and backends, with settings errors shown plainly."""

from __future__ import annotations

import os

import typer

from ..backends import Backends, build_backends
from ..settings import Settings, SettingsError, get_settings, load_settings


def load_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def backends_or_exit(settings: Settings | None = None) -> Backends:
    return build_backends(settings or load_or_exit())


def use_stack(name: str) -> None:
    """Point every command of this process at a deployed stack's secret and table (its outputs)."""
    from .stack import StackError, resolve_stack

    try:
        resolved = resolve_stack(name)
    except StackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    os.environ.update(
        OB1GW_BACKEND="aws", OB1GW_SECRET_ID=resolved["secret_id"], OB1GW_TABLE_NAME=resolved["table_name"]
    )
    get_settings.cache_clear()
