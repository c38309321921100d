"""``ob1gw setup claude-code|codex|opencode|env``: the exact settings that point a member's tool at this gateway,
to paste (each tested by running the tool with what it printed: ``tests/e2e/test_member_setup.py``)."""

from __future__ import annotations

import json
import shlex
from typing import Annotated

import typer

from .common import stack_api_url

setup_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Print the settings that point a member's tool at this gateway."
)

LOCAL_URL = "http://127.0.0.1:8787"
KeyOption = Annotated[
    str, typer.Option("--key", envvar="OB1GW_API_KEY", help="The member's key (ob1gw_…; or OB1GW_API_KEY).")
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help=f"The gateway's base URL (default: the stack's ApiUrl with --stack, else {LOCAL_URL})."),
]


def _url(url: str | None) -> str:
    return (url or stack_api_url() or LOCAL_URL).rstrip("/")


def _exports(values: dict[str, str]) -> str:
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in values.items())


@setup_app.command("claude-code")
def claude_code(key: KeyOption, url: UrlOption = None) -> None:
    """Claude Code: the environment (or ~/.claude/settings.json), model discovery, and the spend status line."""
    env = {
        "ANTHROPIC_BASE_URL": _url(url),
        "ANTHROPIC_AUTH_TOKEN": key,  # sent as Authorization: Bearer, without the API-key approval prompt
        "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1",  # /model lists what this gateway serves
    }
    settings = {"env": env, "statusLine": {"type": "command", "command": "ob1gw statusline"}}
    typer.echo("# Claude Code through ob1-gateway: in your shell profile")
    typer.echo(_exports(env))
    typer.echo("\n# or in ~/.claude/settings.json (the status line shows this month's spend; needs ob1gw installed)")
    typer.echo(json.dumps(settings, indent=2))


@setup_app.command("codex")
def codex(
    key: KeyOption, url: UrlOption = None, model: Annotated[str, typer.Option(help="Codex's model.")] = "gpt-5"
) -> None:
    """Codex CLI: a provider block for ~/.codex/config.toml (the Responses API) and the key's variable."""
    typer.echo("# Codex CLI through ob1-gateway: in ~/.codex/config.toml")
    typer.echo(
        f'model = "{model}"\nmodel_provider = "ob1gw"\n\n[model_providers.ob1gw]\nname = "ob1-gateway"\n'
        f'base_url = "{_url(url)}/v1"\nwire_api = "responses"\nenv_key = "OB1GW_API_KEY"'
    )
    typer.echo("\n# and in your shell profile")
    typer.echo(_exports({"OB1GW_API_KEY": key}))


@setup_app.command("opencode")
def opencode(
    key: KeyOption, url: UrlOption = None, model: Annotated[str, typer.Option(help="The model to offer.")] = "gpt-5"
) -> None:
    """opencode: a provider for opencode.json (OpenAI-compatible chat completions) and the key's variable."""
    config = {
        "$schema": "https://opencode.ai/config.json",
        "provider": {
            "ob1gw": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "ob1-gateway",
                "options": {"baseURL": f"{_url(url)}/v1", "apiKey": "{env:OB1GW_API_KEY}"},
                "models": {model: {"name": model}},
            }
        },
        "model": f"ob1gw/{model}",
    }
    typer.echo("# opencode through ob1-gateway: in opencode.json (the project's, or ~/.config/opencode/)")
    typer.echo(json.dumps(config, indent=2))
    typer.echo("\n# and in your shell profile")
    typer.echo(_exports({"OB1GW_API_KEY": key}))


@setup_app.command("env")
def env(key: KeyOption, url: UrlOption = None) -> None:
    """The variables the anthropic and openai SDKs (and most tools built on them) read."""
    base = _url(url)
    typer.echo("# the anthropic and openai SDKs through ob1-gateway: in your shell profile")
    anthropic = {"ANTHROPIC_BASE_URL": base, "ANTHROPIC_API_KEY": key}
    typer.echo(_exports({**anthropic, "OPENAI_BASE_URL": f"{base}/v1", "OPENAI_API_KEY": key}))
