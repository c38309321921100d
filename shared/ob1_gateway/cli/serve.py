"""``ob1gw serve``: the gateway under uvicorn on the configured (by default local) backends."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ..keys import expired
from ..redaction import install_redaction
from ..settings import Settings
from ..stores.base import Backends
from .common import load_or_exit


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    workers: Annotated[
        int | None, typer.Option(help="Processes sharing the port, a core each (default OB1GW_WORKERS, 1).")
    ] = None,
    listen_fd: Annotated[int | None, typer.Option(hidden=True, help="A worker: accept on this socket.")] = None,
    supervisor: Annotated[int | None, typer.Option(hidden=True, help="A worker: the supervisor's pid.")] = None,
) -> None:
    """Run the gateway."""
    import socket

    import uvicorn

    from .. import observability
    from ..app import create_app
    from ..backends import build_backends
    from ..logfmt import ReadableFormatter
    from ..server import exit_with_parent, run_workers, server_config

    settings = load_or_exit(**({"workers": workers} if workers is not None else {}))
    handler = logging.StreamHandler()
    handler.setFormatter(ReadableFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=settings.log_level, handlers=[handler])
    install_redaction()
    backends = build_backends(settings)
    if listen_fd is None:
        for problem in readiness(settings, backends):
            typer.echo(f"warning: {problem}", err=True)
        processes = f", {settings.workers} workers" if settings.workers > 1 else ""
        where = f"backend: {settings.backend}, upstream: {settings.upstream_url}{processes}"
        typer.echo(f"ob1-gateway on http://{host}:{port} ({where})")
        if settings.workers > 1:
            run_workers(settings, host=host, port=port, worker_env=worker_environment(settings))
            return
    if supervisor is not None:
        exit_with_parent(supervisor)
    app = create_app(settings, backends)
    if observability.enabled():  # the package's lines are Powertools JSON; not again as text via root
        logging.getLogger(observability.PACKAGE_LOGGER).propagate = False
    server = uvicorn.Server(server_config(app, settings, host=host, port=port))
    server.run(sockets=None if listen_fd is None else [socket.socket(fileno=listen_fd)])


def worker_environment(settings: Settings) -> dict[str, str]:
    """What a worker process must be told that the environment may not say: the worker count (it may
    come from ``--workers``) and a backend chosen with ``--stack``."""
    env = {"OB1GW_WORKERS": str(settings.workers), "OB1GW_BACKEND": settings.backend}
    if settings.secret_id and settings.table_name:
        env |= {"OB1GW_SECRET_ID": settings.secret_id, "OB1GW_TABLE_NAME": settings.table_name}
    return env


def readiness(settings: Settings, backends: Backends, now: float | None = None) -> list[str]:
    """What will make requests fail, found at start, each with the command that fixes it."""
    stack = " --stack NAME" if settings.backend == "aws" else ""
    problems = []
    if settings.upstream_api_key is None:
        token = backends.token_store.load()
        if token is None:
            problems.append(f"no OB-1 login yet: every request will fail; run `ob1gw{stack} login` (or `token import`)")
        elif not token.refresh_token and token.expires_within(24 * 3600, now):
            when = "has expired" if token.expires_within(0, now) else "expires within a day"
            problems.append(f"the OB-1 login {when} and cannot be refreshed: run `ob1gw{stack} login`")
    if not any(not k.disabled and not expired(k.policy, now) for k in backends.key_store.list()):
        problems.append(f"no active caller keys: nobody can call the gateway; run `ob1gw{stack} keys create NAME`")
    if settings.workers > 1 and settings.metrics_token is not None:
        problems.append("/metrics with several workers: each scrape counts only the worker that answers it")
    return problems
