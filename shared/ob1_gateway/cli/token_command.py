"""``ob1gw login`` and ``ob1gw token import|status|refresh``: manage the one OB-1 login the gateway uses.

Nothing here ever prints a token: only expiry, organisation, user and whether a refresh token exists.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ..settings import Settings
from ..stores.backends import build_backends
from ..stores.base import OB1Token, TokenStore
from ..upstream.token import OB1TokenManager, TokenUnavailable
from ..upstream.workos import LOGIN_HINT, WorkOSClient, jwt_expiry
from .common import load_or_exit

token_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, add_completion=False, help="Inspect and manage the OB-1 login."
)

DEFAULT_CREDENTIALS = Path("~/.ob1/credentials.json")


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _store(settings: Settings) -> TokenStore:
    return build_backends(settings).token_store


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _summary(token: OB1Token) -> str:
    who = token.email or token.user_id or "unknown user"
    return f"{who}, organization {token.organization_id or '(none)'}, expires {_when(token.expires_at)}"


def _info(token: OB1Token) -> dict[str, Any]:
    """What ``token status --json`` and ``login --json`` print: never a token, only what it is for."""
    remaining = token.expires_at - time.time()
    return {
        "logged_in": True,
        "email": token.email,
        "user_id": token.user_id,
        "organization_id": token.organization_id,
        "expires_at": _when(token.expires_at),
        "expires_in_seconds": int(remaining),
        "expired": remaining <= 0,
        "has_refresh_token": bool(token.refresh_token),
    }


def login(
    org: Annotated[str | None, typer.Option("--org", help="Organization id to use if you belong to several.")] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the stored login as JSON (as `token status --json`); prompts go to stderr."),
    ] = False,
) -> None:
    """Log in to OB-1 with the device flow and store the login for the gateway."""
    settings = load_or_exit()
    workos = WorkOSClient(settings)

    async def run() -> OB1Token:
        code = await workos.start_device_flow()
        typer.echo(f"Open {code.verification_uri_complete or code.verification_uri} in a browser", err=as_json)
        typer.echo(f"and confirm the code {code.user_code}. Waiting for approval...", err=as_json)
        token = await workos.poll_device_flow(code)
        return await _with_organization(workos, token, org, err=as_json)

    try:
        token = asyncio.run(run())
    except TokenUnavailable as exc:
        raise _fail(str(exc)) from None
    _store(settings).save(token)
    if as_json:
        typer.echo(json.dumps(_info(token)))
        return
    typer.echo(f"Logged in: {_summary(token)}.")


async def _with_organization(
    workos: WorkOSClient, token: OB1Token, wanted: str | None, *, err: bool = False
) -> OB1Token:
    """Pick the organisation: ``--org`` if given (it must be one of the user's), else the only/first one."""
    orgs = await workos.organizations(token.access_token, token.user_id or "") if token.user_id else []
    ids = [o["organizationId"] for o in orgs]
    if wanted:
        if orgs and wanted not in ids:
            raise TokenUnavailable(f"you are not a member of organization {wanted}; yours: {', '.join(ids)}")
        chosen = wanted
    elif orgs:
        chosen = ids[0]
        if len(orgs) > 1:
            others = ", ".join(f"{o['organizationId']} ({o.get('organizationName', '')})" for o in orgs[1:])
            typer.echo(
                f"Using organization {chosen} ({orgs[0].get('organizationName', '')}); "
                f"pass --org to choose another: {others}",
                err=err,
            )
    else:
        return token
    return OB1Token(
        access_token=token.access_token,
        refresh_token=token.refresh_token,
        expires_at=token.expires_at,
        organization_id=chosen,
        user_id=token.user_id,
        email=token.email,
    )


def _parse_credentials(data: Any) -> OB1Token:
    """The OB-1 CLI's credentials.json -> OB1Token; ValueError names what is missing."""
    oauth = data.get("oauth") if isinstance(data, dict) else None
    if not isinstance(oauth, dict):
        raise ValueError('expected an object with an "oauth" object')
    access = oauth.get("access_token")
    if not isinstance(access, str) or not access:
        raise ValueError('"oauth.access_token" is missing')
    refresh = oauth.get("refresh_token")
    if refresh is not None and not isinstance(refresh, str):
        raise ValueError('"oauth.refresh_token" must be a string')
    expires_ms = oauth.get("expires_at")
    if isinstance(expires_ms, int | float) and not isinstance(expires_ms, bool):
        expires_at = float(expires_ms) / 1000
    elif expires_ms is None:
        expires_at = jwt_expiry(access) or 0.0
    else:
        raise ValueError('"oauth.expires_at" must be milliseconds since the epoch')
    user = raw_user if isinstance(raw_user := oauth.get("user"), dict) else {}
    return OB1Token(
        access_token=access,
        refresh_token=refresh or None,
        expires_at=expires_at,
        organization_id=oauth.get("organization_id") or None,
        user_id=user.get("id"),
        email=user.get("email"),
    )


@token_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="The OB-1 CLI's credentials file.")] = DEFAULT_CREDENTIALS,
) -> None:
    """Import the login of the official OB-1 CLI (``~/.ob1/credentials.json``: {"oauth": {"access_token",
    "refresh_token", "expires_at" (ms since the epoch), "organization_id", "user": {"id", "email"}}})."""
    path = path.expanduser()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise _fail(f"{path} does not exist; log in with the OB-1 CLI first, or run `ob1gw login`") from None
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read {path}: {type(exc).__name__}") from None
    try:
        token = _parse_credentials(data)
    except ValueError as exc:
        raise _fail(f"{path} is not an OB-1 credentials file: {exc}") from None
    _store(load_or_exit()).save(token)
    typer.echo(f"Imported: {_summary(token)}.")
    if token.expires_within(0) and not token.refresh_token:
        typer.echo("warning: this login has expired and has no refresh token; run `ob1gw login`", err=True)


@token_app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Show the upstream credential: a static key, or the stored login's expiry, organisation, user and whether
    it can refresh. Never the token."""
    settings = load_or_exit()
    token = _store(settings).load()
    if settings.upstream_api_key is not None:  # the login, if any, is not used
        if as_json:
            typer.echo(json.dumps({"mode": "static_key", "logged_in": token is not None}))
            return
        typer.echo("Upstream credential: a static key (OB1GW_UPSTREAM_API_KEY); no OB-1 login is needed or used.")
        return
    if token is None:
        if as_json:
            typer.echo(json.dumps({"mode": "login", "logged_in": False}))
        raise _fail(f"no OB-1 login is stored; {LOGIN_HINT}")
    info = _info(token)
    remaining = token.expires_at - time.time()
    if as_json:
        typer.echo(json.dumps({"mode": "login", **info}))
        return
    left = f"in {_duration(remaining)}" if remaining > 0 else f"{_duration(-remaining)} ago (expired)"
    typer.echo(f"User:          {token.email or '-'} ({token.user_id or '-'})")
    typer.echo(f"Organization:  {token.organization_id or '-'}")
    typer.echo(f"Expires:       {info['expires_at']} ({left})")
    typer.echo(f"Refresh token: {'yes' if token.refresh_token else 'no'}")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@token_app.command("refresh")
def refresh() -> None:
    """Refresh the login now (rotates the refresh token), whatever its expiry."""
    settings = load_or_exit()
    manager = OB1TokenManager.from_settings(settings, _store(settings))
    try:
        token = asyncio.run(manager.refresh_now())
    except TokenUnavailable as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"Refreshed: {_summary(token)}.")
