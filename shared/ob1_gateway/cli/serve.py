"""``ob1gw serve``: the gateway under uvicorn on the configured (by default local) backends."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ..redaction import install_redaction
from .common import load_or_exit


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
) -> None:
    """Run the gateway."""
    import uvicorn

    from .. import observability
    from ..app import create_app
    from ..server import server_config

    settings = load_or_exit()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_redaction()
    if settings.log_level != "DEBUG":  # one "HTTP Request: POST …" line per upstream call repeats the usage line
        logging.getLogger("httpx2").setLevel(logging.WARNING)
    app = create_app(settings)
    if observability.enabled():  # the package's lines are Powertools JSON; not again as text via root
        logging.getLogger(observability.PACKAGE_LOGGER).propagate = False
    typer.echo(f"ob1-gateway on http://{host}:{port} (backend: {settings.backend}, upstream: {settings.upstream_url})")
    uvicorn.Server(server_config(app, settings, host=host, port=port)).run()
