"""``ob1gw serve``: the gateway under uvicorn on the configured (by default local) backends."""

from __future__ import annotations

import logging
import os
import socket
import ssl
import tempfile
from pathlib import Path
from typing import Annotated

import httpx
import typer

from ..access.keys import expired
from ..settings import Settings
from ..stores.base import Backends
from ..telemetry.log_redaction import install_redaction
from ..upstream.workos import LOGIN_HINT
from .common import load_or_exit


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    workers: Annotated[
        int | None, typer.Option(help="Processes sharing the port, a core each (default OB1GW_WORKERS, 1).")
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="Serve HTTPS with this certificate (PEM; with --tls-key).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="The certificate's private key (PEM).")] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Answer from a built-in stand-in (not a model) to try the gateway without an OB-1 account."
        ),
    ] = False,
) -> None:
    """Run the gateway."""
    from ..hosting.server import run_workers
    from ..telemetry.log_format import ReadableFormatter

    settings = load_or_exit(**({"workers": workers} if workers is not None else {}))
    if demo:
        settings = _demo_settings(settings)
    tls = _tls_files(tls_cert, tls_key)
    _exit_if_port_taken(host, port)
    if tls is None and host not in _LOOPBACK:
        typer.echo(
            f"warning: serving plain HTTP on {host}: keys cross the network in the clear; pass --tls-cert and "
            "--tls-key, or put a TLS proxy in front (docs/operations.md)",
            err=True,
        )
    handler = logging.StreamHandler()
    handler.setFormatter(ReadableFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=settings.log_level, handlers=[handler])
    install_redaction()
    processes = f", {settings.workers} workers" if settings.workers > 1 else ""
    credential = "a static key (OB1GW_UPSTREAM_API_KEY)" if settings.upstream_api_key else "the OB-1 login"
    where = f"backend: {settings.backend}, upstream: {settings.upstream_url} with {credential}{processes}"
    banner = f"ob1-gateway on {'https' if tls else 'http'}://{host}:{port} ({where})"
    if demo:
        banner = (
            f"ob1-gateway DEMO on {'https' if tls else 'http'}://{host}:{port}: answers come from a built-in "
            "stand-in, not a model (every answer says so; nothing is billed). Create a key with `ob1gw keys "
            "create NAME` and point an SDK at it; drop --demo once the OB-1 login is set up."
        )
    if settings.workers == 1:
        run_server(settings, host, port, banner=banner, tls=tls)
        return
    typer.echo(banner)
    with tempfile.TemporaryDirectory(prefix="ob1gw-metrics-") as counts:
        if settings.metrics_token is not None:  # every worker's counts in one scrape (telemetry/prometheus.py); set
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = counts  # before prometheus_client is first imported
        # Imported here, before the workers are forked, so they share the modules (server.run_workers).
        from .. import app  # noqa: F401
        from ..stores import backends  # noqa: F401

        serve = lambda sock, first: run_server(settings, host, port, sock, first, tls=tls)  # noqa: E731
        run_workers(settings, host=host, port=port, serve=serve)


def run_server(
    settings: Settings,
    host: str,
    port: int,
    sock: socket.socket | None = None,
    check: bool = True,
    banner: str = "",
    tls: tuple[Path, Path] | None = None,
) -> None:
    """One server process: its stores, the readiness warnings (``check``; the first worker's only), the
    app under uvicorn, on ``sock`` (a worker) or on ``host:port``."""
    import uvicorn

    from ..app import create_app
    from ..hosting.server import server_config
    from ..stores.backends import build_backends
    from ..telemetry import powertools as observability

    backends = build_backends(settings)
    if check:
        for problem in [*readiness(settings, backends), *upstream_unreachable(settings)]:
            typer.echo(f"warning: {problem}", err=True)
    if banner:
        typer.echo(banner)
    app = create_app(settings, backends)
    if observability.enabled():  # the package's lines are Powertools JSON; not again as text via root
        logging.getLogger(observability.PACKAGE_LOGGER).propagate = False
    certificate = {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1])} if tls else {}
    server = uvicorn.Server(server_config(app, settings, host=host, port=port, **certificate))
    server.run(sockets=None if sock is None else [sock])


def readiness(settings: Settings, backends: Backends, now: float | None = None) -> list[str]:
    """What will make requests fail, found at start, each with the command that fixes it."""
    stack = " --stack NAME" if settings.backend == "aws" else ""
    problems = []
    if settings.upstream_api_key is None:
        token = backends.token_store.load()
        if token is None:
            problems.append(
                f"no OB-1 login yet: every request will fail; {LOGIN_HINT.replace('ob1gw', 'ob1gw' + stack, 2)}"
            )
        elif not token.refresh_token and token.expires_within(24 * 3600, now):
            when = "has expired" if token.expires_within(0, now) else "expires within a day"
            problems.append(f"the OB-1 login {when} and cannot be refreshed: run `ob1gw{stack} login`")
    if not any(not k.disabled and not expired(k.policy, now) for k in backends.key_store.list()):
        problems.append(f"no active caller keys: nobody can call the gateway; run `ob1gw{stack} keys create NAME`")
    return problems


def upstream_unreachable(settings: Settings, timeout: float = 3.0) -> list[str]:
    """One request to the upstream at start (its model list): any answer, even a refusal, means it can be reached;
    a connection that fails is said now, naming the URL and the setting, not found per request (502s)."""
    url = f"{settings.upstream_url}/models"
    client_log = logging.getLogger("httpx")  # its per-call INFO line is for DEBUG runs only, as for the gateway's
    level = client_log.level
    client_log.setLevel(max(level, logging.WARNING))
    try:
        httpx.get(url, timeout=timeout)
    except httpx.TransportError as exc:
        reason = type(exc).__name__
        return [
            f"the upstream {settings.upstream_url} (OB1GW_UPSTREAM_URL) cannot be reached ({reason}): every request "
            "will fail with 502 until it can"
        ]
    finally:
        client_log.setLevel(level)
    return []


def _exit_if_port_taken(host: str, port: int) -> None:
    """A port in use is one clear line, before any banner (uvicorn's own error comes after the start-up lines)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as exc:
            typer.echo(f"error: cannot listen on {host}:{port} ({exc.strerror}); choose another with --port", err=True)
            raise typer.Exit(1) from None


_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _tls_files(cert: Path | None, key: Path | None) -> tuple[Path, Path] | None:
    """Both files or neither; each must be readable (said now, not as a TLS error on the first request)."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise typer.BadParameter("give both --tls-cert and --tls-key", param_hint="--tls-cert/--tls-key")
    for path, option in ((cert, "--tls-cert"), (key, "--tls-key")):
        if not path.is_file():
            raise typer.BadParameter(f"{path} is not a file", param_hint=option)
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        why = f"not a certificate and its key ({exc.__class__.__name__})"
        raise typer.BadParameter(why, param_hint="--tls-cert/--tls-key") from None
    return cert, key


def _demo_settings(settings: Settings) -> Settings:
    """``--demo``: the built-in stand-in as the upstream, one process, local stores only (never on AWS)."""
    from ..hosting.demo_upstream import DEMO_KEY, DemoUpstream

    if settings.backend != "local":
        typer.echo("error: --demo runs on the local backend only (it is a try-out, not a deployment)", err=True)
        raise typer.Exit(2)
    upstream = DemoUpstream().start()
    return load_or_exit(workers=1, upstream_url=upstream, upstream_api_key=DEMO_KEY)
