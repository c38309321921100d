"""OB1TokenManager against the fake WorkOS/OB-1: one refresh per rotation, persisted before use."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import httpx
import pytest
from ob1_gateway.settings import Settings, load_settings
from ob1_gateway.stores.base import OB1Token
from ob1_gateway.stores.local.local_stores import FileTokenStore
from ob1_gateway.upstream.token import (
    AuthUnavailable,
    LoginExpired,
    NotLoggedIn,
    OB1TokenManager,
    StaticKey,
    StaticKeyRejected,
)
from ob1_gateway.upstream.workos import WorkOSClient

from tests.fakes.ob1_fake import DEFAULT_CLIENT_ID, FakeOB1Server


def _settings(url: str, home: Path) -> Settings:
    return load_settings(home=home, upstream_url=url + "/api/v1", auth_url=url + "/user_management")


def _manager(fake_url: str, path: Path, margin: float = 300.0, store: object = None) -> OB1TokenManager:
    settings = _settings(fake_url, path.parent)
    return OB1TokenManager(store or FileTokenStore(path), WorkOSClient(settings), margin)  # type: ignore[arg-type]


def _works(fake_url: str, header: str) -> bool:
    return httpx.get(fake_url + "/api/v1/models", headers={"Authorization": header}).status_code == 200


def _seed(fake: FakeOB1Server, path: Path, **kwargs: object) -> OB1Token:
    token = OB1Token.from_dict(fake.issue_login(**kwargs))
    FileTokenStore(path).save(token)
    return token


@pytest.fixture
def token_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "ob1-token.json"


class ExplodingStore:
    """Fails on any I/O: proves the hot path does none."""

    def load(self) -> None:
        raise AssertionError("store.load on the hot path")

    def save(self, token: OB1Token) -> None:
        raise AssertionError("store.save on the hot path")

    def lease(self) -> None:
        raise AssertionError("store.lease on the hot path")


def test_valid_token_is_used_without_refresh_or_io(fake_ob1: FakeOB1Server, token_path: Path) -> None:
    seeded = _seed(fake_ob1, token_path)
    manager = _manager(fake_ob1.url, token_path)

    async def run() -> list[str]:
        first = await manager.authorization()
        manager.store = ExplodingStore()  # type: ignore[assignment]
        return [first] + [await manager.authorization() for _ in range(100)]

    headers = asyncio.run(run())
    assert set(headers) == {seeded.authorization()}
    assert fake_ob1.refresh_calls == 0
    assert _works(fake_ob1.url, headers[0])


def test_expiring_token_is_refreshed_rotated_and_persisted(fake_ob1: FakeOB1Server, token_path: Path) -> None:
    seeded = _seed(fake_ob1, token_path, expires_in=60)  # inside the 300 s margin
    manager = _manager(fake_ob1.url, token_path)
    header = asyncio.run(manager.authorization())
    stored = FileTokenStore(token_path).load()
    assert fake_ob1.refresh_calls == 1
    assert header != seeded.authorization() and header == stored.authorization()
    assert stored.refresh_token != seeded.refresh_token
    assert stored.expires_at > seeded.expires_at + 1000
    assert (stored.organization_id, stored.user_id, stored.email) == (
        seeded.organization_id,
        seeded.user_id,
        seeded.email,
    )
    assert _works(fake_ob1.url, header)
    # the persisted refresh token is the live one: a second refresh from the file succeeds
    assert asyncio.run(_manager(fake_ob1.url, token_path).refresh_now()).refresh_token != stored.refresh_token


class FailingSaveStore(FileTokenStore):
    fail = True

    def save(self, token: OB1Token) -> None:
        if self.fail:
            raise OSError("disk full")
        super().save(token)


def test_rotated_token_is_not_used_until_saved(fake_ob1: FakeOB1Server, token_path: Path) -> None:
    seeded = _seed(fake_ob1, token_path)
    store = FailingSaveStore(token_path)
    manager = _manager(fake_ob1.url, token_path, store=store)
    fake_ob1.expire_all_tokens()

    async def run() -> str:
        with pytest.raises(AuthUnavailable, match="could not save"):
            await manager.after_rejection(seeded.authorization())
        with pytest.raises(AuthUnavailable):  # still unsaved: still not handed out
            await manager.after_rejection(seeded.authorization())
        store.fail = False
        return await manager.after_rejection(seeded.authorization())

    header = asyncio.run(run())
    assert fake_ob1.refresh_calls == 1  # the rotated token was kept, not refreshed again
    assert header == FileTokenStore(token_path).load().authorization()
    assert _works(fake_ob1.url, header)


def test_50_concurrent_rejections_cause_one_refresh(fake_ob1: FakeOB1Server, token_path: Path) -> None:
    seeded = _seed(fake_ob1, token_path)
    fake_ob1.configure(refresh_delay=0.2)
    manager = _manager(fake_ob1.url, token_path)

    async def run() -> list[str]:
        old = await manager.authorization()
        assert old == seeded.authorization()
        fake_ob1.expire_all_tokens()
        return await asyncio.gather(*(manager.after_rejection(old) for _ in range(50)))

    headers = asyncio.run(run())
    assert fake_ob1.refresh_calls == 1
    assert len(set(headers)) == 1 and headers[0] != seeded.authorization()
    assert _works(fake_ob1.url, headers[0])
    assert FileTokenStore(token_path).load().authorization() == headers[0]


def test_50_concurrent_callers_of_an_expiring_token_cause_one_refresh(
    fake_ob1: FakeOB1Server, token_path: Path
) -> None:
    _seed(fake_ob1, token_path, expires_in=30)
    fake_ob1.configure(refresh_delay=0.1, access_ttl=120)  # new tokens are inside the margin too
    manager = _manager(fake_ob1.url, token_path)

    async def run() -> list[str]:
        return await asyncio.gather(*(manager.authorization() for _ in range(50)))

    headers = asyncio.run(run())
    assert fake_ob1.refresh_calls == 1
    assert len(set(headers)) == 1 and _works(fake_ob1.url, headers[0])


def _process_worker(fake_url: str, path: str, ready, go, results) -> None:  # type: ignore[no-untyped-def]
    async def run() -> None:
        manager = _manager(fake_url, Path(path))
        old = await manager.authorization()
        ready.put(old)
        await asyncio.to_thread(go.wait, 30)
        new = await manager.after_rejection(old)
        results.put((new, _works(fake_url, new)))

    try:
        asyncio.run(run())
    except BaseException as exc:
        results.put((f"error: {type(exc).__name__}: {exc}", False))


def test_processes_sharing_a_token_file_refresh_once(fake_ob1: FakeOB1Server, token_path: Path) -> None:
    seeded = _seed(fake_ob1, token_path)
    fake_ob1.configure(refresh_delay=0.3)
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=_process_worker, args=(fake_ob1.url, str(token_path), ready, go, results)) for _ in range(6)
    ]
    for proc in procs:
        proc.start()
    try:
        olds = [ready.get(timeout=60) for _ in procs]
        assert set(olds) == {seeded.authorization()}
        fake_ob1.expire_all_tokens()
        go.set()
        outcomes = [results.get(timeout=60) for _ in procs]
    finally:
        go.set()
        for proc in procs:
            proc.join(30)
    headers = {header for header, _ in outcomes}
    assert all(ok for _, ok in outcomes), outcomes
    assert fake_ob1.refresh_calls == 1
    stored = FileTokenStore(token_path).load()
    assert headers == {stored.authorization()}
    # the stored refresh token is the newest: it refreshes, and the seeded one is dead
    form = {"grant_type": "refresh_token", "client_id": DEFAULT_CLIENT_ID}
    dead = httpx.post(fake_ob1.auth_url + "/authenticate", data={**form, "refresh_token": seeded.refresh_token})
    live = httpx.post(fake_ob1.auth_url + "/authenticate", data={**form, "refresh_token": stored.refresh_token})
    assert dead.json()["error"] == "invalid_grant" and live.status_code == 200


def test_invalid_grant_with_unchanged_store_is_login_expired(fake_ob1: FakeOB1Server, token_path: Path) -> None:
    seeded = _seed(fake_ob1, token_path)
    # someone else used the refresh token and lost the result: the stored one is now dead
    httpx.post(
        fake_ob1.auth_url + "/authenticate",
        data={
            "grant_type": "refresh_token",
            "client_id": DEFAULT_CLIENT_ID,
            "refresh_token": seeded.refresh_token,
        },
    ).raise_for_status()
    fake_ob1.expire_all_tokens()
    manager = _manager(fake_ob1.url, token_path)
    with pytest.raises(LoginExpired) as info:
        asyncio.run(manager.after_rejection(seeded.authorization()))
    message = str(info.value)
    assert "ob1gw login" in message and "ob1gw token import" in message
    assert seeded.refresh_token not in message and seeded.access_token not in message
    assert fake_ob1.refresh_calls == 2
    assert FileTokenStore(token_path).load() == seeded


class LaggingStore(FileTokenStore):
    """Serves a stale copy for the first reads, like a replica that has not seen another writer yet."""

    def __init__(self, path: Path, stale: OB1Token, stale_reads: int) -> None:
        super().__init__(path)
        self.stale, self.stale_reads, self.reads = stale, stale_reads, 0

    def load(self) -> OB1Token | None:
        self.reads += 1
        return self.stale if self.reads <= self.stale_reads else super().load()


def test_invalid_grant_rereads_and_uses_a_token_rotated_elsewhere(fake_ob1: FakeOB1Server, token_path: Path) -> None:
    seeded = _seed(fake_ob1, token_path)
    fake_ob1.expire_all_tokens()
    other = _manager(fake_ob1.url, token_path)
    rotated = asyncio.run(other.after_rejection(seeded.authorization()))
    assert fake_ob1.refresh_calls == 1
    lagging = LaggingStore(token_path, seeded, stale_reads=2)  # both pre-refresh reads see the old token
    manager = _manager(fake_ob1.url, token_path, store=lagging)
    header = asyncio.run(manager.after_rejection(seeded.authorization()))
    assert header == rotated and _works(fake_ob1.url, header)
    assert fake_ob1.refresh_calls == 2  # its own attempt failed with invalid_grant; no third refresh
    assert lagging.reads == 3


def test_revoked_login_and_empty_store(fake_ob1: FakeOB1Server, token_path: Path) -> None:
    with pytest.raises(NotLoggedIn, match="ob1gw login"):
        asyncio.run(_manager(fake_ob1.url, token_path).authorization())
    _seed(fake_ob1, token_path, expires_in=-1)
    fake_ob1.revoke_refresh_tokens()
    with pytest.raises(LoginExpired):
        asyncio.run(_manager(fake_ob1.url, token_path).authorization())


def test_manager_survives_separate_event_loops(fake_ob1: FakeOB1Server, token_path: Path) -> None:
    seeded = _seed(fake_ob1, token_path)
    manager = _manager(fake_ob1.url, token_path)
    fake_ob1.expire_all_tokens()
    first = asyncio.run(manager.after_rejection(seeded.authorization()))
    fake_ob1.expire_all_tokens()
    second = asyncio.run(manager.after_rejection(first))
    assert fake_ob1.refresh_calls == 2 and first != second and _works(fake_ob1.url, second)


def test_static_key_against_the_fake(fake_ob1: FakeOB1Server) -> None:
    fake_ob1.add_api_key("sk-static-1")
    key = StaticKey("sk-static-1")
    assert _works(fake_ob1.url, asyncio.run(key.authorization()))
    with pytest.raises(StaticKeyRejected):
        asyncio.run(key.after_rejection("Bearer sk-static-1"))


def test_refresh_without_network_is_auth_unavailable(token_path: Path) -> None:
    dead_url = "http://127.0.0.1:9"  # discard port: connection refused
    FileTokenStore(token_path).save(OB1Token(access_token="at-secret-1", refresh_token="rt-secret-2"))
    with pytest.raises(AuthUnavailable) as info:
        asyncio.run(_manager(dead_url, token_path).authorization())
    assert "secret" not in str(info.value) and "cannot reach" in str(info.value)
