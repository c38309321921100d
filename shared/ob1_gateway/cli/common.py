"""What every admin command needs: settings and backends, with settings errors shown plainly."""

from __future__ import annotations

import typer

from ..backends import Backends, build_backends
from ..settings import Settings, SettingsError, load_settings


def load_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def backends_or_exit(settings: Settings | None = None) -> Backends:
    return build_backends(settings or load_or_exit())
