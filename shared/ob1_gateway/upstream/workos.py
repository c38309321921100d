"""WorkOS user-management calls OB-1 logins need: device flow, refresh, and the user's organisations.

Tokens never appear in log lines or exception messages: errors carry the OAuth error code and status only.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..settings import Settings
from ..stores.base import OB1Token
from .http import FAULTS, Transport, env_proxy, is_timeout, read_body, timeouts, transport_fault

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_LIFETIME = 3600.0
LOGIN_HINT = (
    "run `ob1gw login` (OB-1's device login) or `ob1gw token import` (the OB-1 CLI's ~/.ob1/credentials.json), "
    "or set OB1GW_UPSTREAM_API_KEY to an upstream API key; to try the gateway without OB-1, `ob1gw serve --demo`"
)


class TokenUnavailable(Exception):
    """No usable upstream credential right now; the message says what to do."""


class LoginExpired(TokenUnavailable):
    """The refresh token was rejected (``invalid_grant``): only a new login helps."""

    def __init__(self, detail: str = "the OB-1 login has expired or was revoked") -> None:
        super().__init__(f"{detail}; {LOGIN_HINT}")


class AuthUnavailable(TokenUnavailable):
    """WorkOS could not be reached or answered unexpectedly; retrying later may work."""


class DeviceFlowError(TokenUnavailable):
    """The device login ended without tokens (expired code or denied by the user)."""


@dataclass(frozen=True)
class DeviceCode:
    """What the user needs to approve a device login; ``device_code`` is secret-ish, kept out of repr."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


def jwt_expiry(access_token: str) -> float | None:
    """The ``exp`` claim (epoch seconds) read without verifying: we only schedule refreshes with it."""
    import jwt  # lazily: PyJWT pulls in cryptography, which a cold start should not pay for

    try:
        exp = jwt.decode(access_token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def jwt_claims(access_token: str) -> dict[str, Any]:
    import jwt

    try:
        return jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}


def token_from_grant(body: dict[str, Any], previous: OB1Token | None = None, now: float | None = None) -> OB1Token:
    """An ``OB1Token`` from a WorkOS authenticate response; expiry from JWT ``exp``, ``expires_in``, or 1 h.

    A response without a new refresh token keeps the previous one; org and user fall back to the previous
    token's, then to the JWT's ``org_id``/``sub`` claims.
    """
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise AuthUnavailable("WorkOS response carried no access token")
    now = time.time() if now is None else now
    expires_at = jwt_expiry(access)
    if expires_at is None:
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else DEFAULT_LIFETIME
        expires_at = now + lifetime
    claims = jwt_claims(access)
    user = raw_user if isinstance(raw_user := body.get("user"), dict) else {}
    return OB1Token(
        access_token=access,
        refresh_token=body.get("refresh_token") or (previous.refresh_token if previous else None),
        expires_at=expires_at,
        organization_id=body.get("organization_id")
        or (previous.organization_id if previous else None)
        or claims.get("org_id"),
        user_id=user.get("id") or (previous.user_id if previous else None) or claims.get("sub"),
        email=user.get("email") or (previous.email if previous else None),
    )


class WorkOSClient:
    """Async WorkOS client (device flow + refresh), plus OB-1's organisation lookup for a fresh login."""

    def __init__(self, settings: Settings, *, slow_down_step: float = 5.0) -> None:
        self.auth_url = settings.auth_url.rstrip("/")
        self.upstream_url = settings.upstream_url.rstrip("/")
        self.client_id = settings.client_id
        self.slow_down_step = slow_down_step  # RFC 8628 §3.5: add 5 s per slow_down
        self._timeout = timeouts(connect=settings.connect_timeout, read=30.0, pool=30.0)

    async def _request(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        """One request (``httpx.Request``'s ``data``, ``params``, ``headers``) on a short-lived transport
        (logins and refreshes are rare), within 30 s: its status and its JSON body (None when the body is
        not JSON)."""
        request = httpx.Request(method, url, extensions=self._timeout, **kwargs)
        transport = Transport(limit=1, keepalive=0, proxy=env_proxy(url))
        try:
            async with asyncio.timeout(30.0):
                response = await transport.handle_async_request(request)
                try:
                    status, raw = response.status_code, await read_body(response)
                finally:
                    await response.aclose()
        except FAULTS as exc:
            fault = "timed out" if is_timeout(exc) else transport_fault(exc)[0]
            raise AuthUnavailable(f"cannot reach {url.split('?')[0]}: {fault}") from None
        finally:
            await transport.aclose()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, None

    async def _authenticate(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        status, body = await self._request("POST", f"{self.auth_url}/authenticate", data=form)
        return status, body if isinstance(body, dict) else {}

    async def refresh(self, refresh_token: str, previous: OB1Token | None = None) -> OB1Token:
        """Trade a (single-use) refresh token for new tokens. ``invalid_grant`` -> ``LoginExpired``."""
        status, body = await self._authenticate(
            {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id}
        )
        if status == 200:
            return token_from_grant(body, previous)
        error = body.get("error") or body.get("code")
        if error == "invalid_grant":
            raise LoginExpired("the OB-1 refresh token was rejected (invalid_grant)")
        raise AuthUnavailable(f"WorkOS refresh failed: HTTP {status} {error or ''}".rstrip())

    async def start_device_flow(self) -> DeviceCode:
        status, body = await self._request(
            "POST", f"{self.auth_url}/authorize/device", data={"client_id": self.client_id}
        )
        body = body if isinstance(body, dict) else {}
        try:
            return DeviceCode(
                device_code=body["device_code"],
                user_code=body["user_code"],
                verification_uri=body["verification_uri"],
                verification_uri_complete=body.get("verification_uri_complete"),
                expires_in=float(body.get("expires_in") or 300),
                interval=float(body["interval"]) if body.get("interval") is not None else 5.0,
            )
        except (KeyError, TypeError, ValueError):
            error = body.get("error") or ""
            raise AuthUnavailable(f"WorkOS device authorization failed: HTTP {status} {error}".rstrip()) from None

    async def poll_device_flow(self, code: DeviceCode) -> OB1Token:
        """Poll until the user approves (RFC 8628): wait ``interval`` between polls, slow down when told."""
        interval, deadline = code.interval, time.monotonic() + code.expires_in
        form = {"grant_type": DEVICE_GRANT, "device_code": code.device_code, "client_id": self.client_id}
        while True:
            await asyncio.sleep(interval)
            status, body = await self._authenticate(form)
            if status == 200:
                return token_from_grant(body)
            error = body.get("error") or body.get("code")
            if error == "authorization_pending":
                pass
            elif error == "slow_down":
                interval += self.slow_down_step
            elif error == "expired_token":
                raise DeviceFlowError("the login code expired before it was approved; run `ob1gw login` again")
            elif error == "access_denied":
                raise DeviceFlowError("the login was denied")
            else:
                raise AuthUnavailable(f"WorkOS device login failed: HTTP {status} {error or ''}".rstrip())
            if time.monotonic() + interval > deadline:
                raise DeviceFlowError("the login code expired before it was approved; run `ob1gw login` again")

    async def organizations(self, access_token: str, user_id: str) -> list[dict[str, str]]:
        """The user's OB-1 organisations as ``[{"organizationId", "organizationName"}]``."""
        status, body = await self._request(
            "GET",
            f"{self.upstream_url}/auth/organizations",
            params={"user_id": user_id},
            headers={"Authorization": f"Bearer {access_token}"},
        )
        if status != 200:
            raise AuthUnavailable(f"listing organisations failed: HTTP {status}")
        data = body.get("data", []) if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise AuthUnavailable("listing organisations returned an unreadable body")
        return [o for o in data if isinstance(o, dict) and o.get("organizationId")]
