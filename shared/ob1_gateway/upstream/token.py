"""The upstream credential: a static key, or the OB-1 login refreshed exactly once however many callers race.

Refresh tokens are single-use, so two refreshes from the same token kill the login. ``OB1TokenManager``
therefore serialises refreshes twice: an asyncio lock inside the process, and the store's lease across
processes, re-reading the store under both so a token someone else already rotated is reused, not
refreshed again. The rotated refresh token is saved before the new access token is handed out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..stores.base import OB1Token, TokenStore
from .workos import LOGIN_HINT, AuthUnavailable, LoginExpired, TokenUnavailable, WorkOSClient

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = [
    "AuthUnavailable",
    "LoginExpired",
    "NotLoggedIn",
    "OB1TokenManager",
    "StaticKey",
    "StaticKeyRejected",
    "TokenProvider",
    "TokenUnavailable",
]

log = logging.getLogger(__name__)


class NotLoggedIn(TokenUnavailable):
    def __init__(self) -> None:
        super().__init__(f"no OB-1 login is stored; {LOGIN_HINT}")


class StaticKeyRejected(TokenUnavailable):
    def __init__(self) -> None:
        super().__init__("the upstream rejected OB1GW_UPSTREAM_API_KEY; check the key")


class TokenProvider(Protocol):
    async def authorization(self) -> str:
        """The current ``Authorization`` header value, refreshed first if it expires within the margin."""
        ...

    async def after_rejection(self, rejected: str) -> str:
        """A header to retry with after the upstream answered 401 to ``rejected``."""
        ...


class StaticKey:
    """``OB1GW_UPSTREAM_API_KEY``: nothing to refresh, so a rejection is final."""

    def __init__(self, key: str) -> None:
        self._header = f"Bearer {key}"

    def __repr__(self) -> str:
        return "StaticKey(***)"

    async def authorization(self) -> str:
        return self._header

    async def after_rejection(self, rejected: str) -> str:
        raise StaticKeyRejected()


class OB1TokenManager:
    """The OB-1 login from a ``TokenStore``, cached in memory so a valid token costs no I/O."""

    def __init__(self, store: TokenStore, workos: WorkOSClient, margin_seconds: float = 300.0) -> None:
        self.store = store
        self.workos = workos
        self.margin = margin_seconds
        self._token: OB1Token | None = None
        self._unsaved: OB1Token | None = None  # rotated but not yet persisted (the save failed)
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[OB1Token]] = set()
        self._generation = 0  # bumped by every refresh, so callers that waited can tell one happened
        self.refresh_listeners: list[Callable[[], None]] = []  # told of each refresh (/metrics, EMF)
        self.refresh_failure_listeners: list[Callable[[], None]] = []  # told of each failed refresh (/metrics)

    @classmethod
    def from_settings(
        cls, settings: Settings, store: TokenStore, *, margin_seconds: float | None = None
    ) -> OB1TokenManager:
        """The manager every caller builds: the store's login, refreshed through WorkOS ``margin_seconds``
        (default ``refresh_margin_seconds``) before it expires."""
        margin = settings.refresh_margin_seconds if margin_seconds is None else margin_seconds
        return cls(store, WorkOSClient(settings), margin)

    async def authorization(self) -> str:
        token = self._token
        if token is not None and not token.expires_within(self.margin):
            return token.authorization()
        return (await self._shielded(self._renew(token, self._generation))).authorization()

    async def after_rejection(self, rejected: str) -> str:
        token = self._token
        if token is not None and token.authorization() != rejected and not token.expires_within(self.margin):
            return token.authorization()
        renewal = self._renew(token, self._generation, rejected=rejected)
        return (await self._shielded(renewal)).authorization()

    async def refresh_now(self) -> OB1Token:
        """Refresh even though the stored token is still valid (``ob1gw token refresh``)."""
        stored = await asyncio.to_thread(self.store.load)
        if stored is None:
            raise NotLoggedIn()
        return await self._shielded(self._renew(stored, self._generation, replace=stored.access_token))

    # ---- internals ---------------------------------------------------------------------------------
    async def _shielded(self, work: Coroutine[Any, Any, OB1Token]) -> OB1Token:
        """Run the refresh as its own task: a caller that disconnects must not abandon a rotated token."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(task)

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def _acceptable(
        self, token: OB1Token, seen: OB1Token | None, renewed: bool, rejected: str | None, replace: str | None
    ) -> bool:
        if rejected is not None and token.authorization() == rejected:
            return False
        if replace is not None and token.access_token == replace:
            return False
        if not token.expires_within(self.margin):
            return True
        # Inside the margin but renewed since the caller looked (the upstream issues short-lived tokens):
        # take it while it is unexpired rather than refreshing again for every waiting caller.
        changed = renewed or (seen is not None and token.access_token != seen.access_token)
        return changed and not token.expires_within(0)

    @asynccontextmanager
    async def _lease(self) -> AsyncIterator[None]:
        """The store's blocking cross-process lease, entered and left in worker threads."""
        lease = self.store.lease()
        await asyncio.to_thread(lease.__enter__)
        try:
            yield
        finally:
            await asyncio.to_thread(lease.__exit__, None, None, None)

    async def _renew(
        self, seen: OB1Token | None, generation: int, rejected: str | None = None, replace: str | None = None
    ) -> OB1Token:
        """Under the lock: reuse a token renewed meanwhile (here or in the store), else refresh (leased).

        ``seen``/``generation`` are what the caller observed before waiting, so a refresh finished by
        another caller in the meantime counts as theirs.
        """

        def ok(token: OB1Token) -> bool:
            return self._acceptable(token, seen, self._generation != generation, rejected, replace)

        async with self._loop_lock():
            if self._unsaved is not None:
                await self._save(self._unsaved)
            if self._token is not None and ok(self._token):
                return self._token
            stored = await asyncio.to_thread(self.store.load)
            if stored is not None and ok(stored):
                self._token = stored
                return stored
            async with self._lease():
                stored = await asyncio.to_thread(self.store.load)  # another process may have rotated it
                if stored is None:
                    raise NotLoggedIn()
                if ok(stored):
                    self._token = stored
                    return stored
                try:
                    return await self._refresh(stored, ok)
                except TokenUnavailable:
                    for listener in self.refresh_failure_listeners:
                        listener()
                    raise

    async def _refresh(self, stored: OB1Token, ok: Any) -> OB1Token:
        """Refresh under the lease; on ``invalid_grant`` re-read once before declaring the login dead."""
        if not stored.refresh_token:
            raise LoginExpired("the stored OB-1 login has no refresh token")
        try:
            fresh = await self.workos.refresh(stored.refresh_token, previous=stored)
        except LoginExpired:
            again = await asyncio.to_thread(self.store.load)
            if again is None or again.refresh_token in (None, stored.refresh_token):
                log.warning("OB-1 refresh token rejected and the store holds no newer one")
                raise
            if ok(again):
                self._token = again
                return again
            fresh = await self.workos.refresh(again.refresh_token, previous=again)
        await self._save(fresh)
        expiry = datetime.fromtimestamp(fresh.expires_at, UTC).isoformat(timespec="seconds")
        log.info("refreshed the OB-1 token; it expires at %s", expiry)
        for listener in self.refresh_listeners:
            listener()
        return fresh

    async def _save(self, token: OB1Token) -> None:
        """Persist, then publish. If saving fails, keep the rotated token (its refresh token is the only
        valid one now) and retry the save on the next renewal instead of handing it out unsaved."""
        self._unsaved = token
        try:
            await asyncio.to_thread(self.store.save, token)
        except Exception as exc:
            raise AuthUnavailable(f"could not save the refreshed OB-1 token: {type(exc).__name__}") from None
        self._unsaved = None
        self._token = token
        self._generation += 1
