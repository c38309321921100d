"""``ob1gw dev-stack``: the stack's DynamoDB table, secret and responses bucket on this machine, for ``sam local``."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from ..settings import OB1_UPSTREAM_URL, WORKOS_AUTH_URL


def dev_stack(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on; default: docker0's, where sam local's containers reach it."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port for the AWS emulation (moto).")] = 4566,
    upstream_url: Annotated[str, typer.Option(help="OB-1 or any OpenAI-compatible base URL.")] = OB1_UPSTREAM_URL,
    auth_url: Annotated[str, typer.Option(help="WorkOS base for login and refresh.")] = WORKOS_AUTH_URL,
    template: Annotated[Path, typer.Option(help="The stack's template.")] = Path("template.yaml"),
    env_file: Annotated[Path, typer.Option(help="sam local --env-vars file to write.")] = Path("env.local.json"),
    shell_file: Annotated[Path, typer.Option(help="Shell exports for ob1gw to write.")] = Path("env.local.sh"),
    web_search: Annotated[
        str, typer.Option(help="The stack's WebSearch: off, searxng, tavily, brave or exa (docs/web-search.md).")
    ] = "off",
    web_search_url: Annotated[str, typer.Option(help="The search provider's API address.")] = "",
    web_search_api_key: Annotated[
        str, typer.Option(help="A keyed provider's key: put in the stack's secret, as on AWS (never in ENV_FILE).")
    ] = "",
    web_fetch: Annotated[str, typer.Option(help="The stack's WebFetch: on or off.")] = "off",
) -> None:
    """Serve DynamoDB, Secrets Manager and S3 (moto) with the template's table, token secret and responses
    bucket until stopped,
    and write the files that point sam local (ENV_FILE) and ob1gw (SHELL_FILE) at them."""
    try:
        from .local_aws import DevStack, docker0_address
    except ImportError as exc:
        typer.echo(f"error: dev-stack needs the test extras (make install): {exc}", err=True)
        raise typer.Exit(2) from None
    address = host or docker0_address()
    if address is None:
        typer.echo("error: no docker0 interface: start Docker (dockerd), or pass --host", err=True)
        raise typer.Exit(2)
    if web_search not in ("off", "searxng", "tavily", "brave", "exa") or web_fetch not in ("on", "off"):
        raise typer.BadParameter("--web-search: off, searxng, tavily, brave or exa; --web-fetch: on or off")
    stack = DevStack.start(template, host=address, port=port)
    web = {"OB1GW_WEB_SEARCH": web_search, "OB1GW_WEB_SEARCH_URL": web_search_url, "OB1GW_WEB_FETCH": web_fetch}
    if web_search_api_key:
        web["OB1GW_WEB_SEARCH_API_KEY_SECRET_ID"] = stack.add_secret(
            "ob1-gateway-local/web-search-key", web_search_api_key
        )
    stack.write(env_file, shell_file, OB1GW_UPSTREAM_URL=upstream_url, OB1GW_AUTH_URL=auth_url, **web)
    typer.echo(
        f"dev stack on {stack.endpoint}: table {stack.table_name}, secret {stack.secret_id}, bucket {stack.bucket}"
    )
    typer.echo(f"wrote {env_file} (sam local) and {shell_file}; next:")
    typer.echo(f"  source {shell_file} && ob1gw login   # or: ob1gw token import; then ob1gw keys create NAME")
    typer.echo("  sam build && sam local start-api --config-env local")
    typer.echo("ready", err=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    stack.stop()
