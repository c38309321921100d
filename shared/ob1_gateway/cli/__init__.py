"""``ob1gw``: run the gateway and administer its login, keys and usage."""

from __future__ import annotations

import typer

from .keys import keys_app
from .serve import serve
from .token import login, token_app
from .usage import usage

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.command("serve")(serve)
app.command("login")(login)
app.command("usage")(usage)
app.add_typer(token_app, name="token")
app.add_typer(keys_app, name="keys")


def main() -> None:
    app()
