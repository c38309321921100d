"""``ob1gw``: run the gateway and administer its login, keys and usage.

Modules:
    serve_command      ob1gw serve
    token_command      ob1gw login, ob1gw token import|status|refresh
    keys_command       ob1gw keys create|list|update|rotate|revoke|set-budget
    usage_command      ob1gw usage
    dev_stack_command  ob1gw dev-stack
    setup_command      ob1gw setup claude-code|codex|opencode|env: a member's tool pointed at the gateway
    statusline_command ob1gw statusline: Claude Code's status line, the key's spend this month
    local_aws          moto's server with the stack's table and secret, made from template.yaml
    stack              --stack NAME: a deployed stack's resources from its CloudFormation outputs
    common             settings and backends for every admin command
"""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from .common import use_stack
from .dev_stack_command import dev_stack
from .keys_command import keys_app
from .serve_command import serve
from .setup_command import setup_app
from .statusline_command import statusline
from .token_command import login, token_app
from .usage_command import usage

_HELP = "Run the gateway and administer its login, keys and usage."
app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False, help=_HELP)


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"ob1gw {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    stack: Annotated[
        str | None,
        typer.Option("--stack", envvar="OB1GW_STACK", help="Administer a deployed stack (AWS backend) by name."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    use_stack(stack)


app.command("serve")(serve)
app.command("login")(login)
app.command("usage")(usage)
app.command("dev-stack")(dev_stack)
app.add_typer(token_app, name="token")
app.add_typer(keys_app, name="keys")
app.add_typer(setup_app, name="setup")
app.command("statusline")(statusline)


def main() -> None:
    app()
