"""FileTokenStore: private file mode, atomic replacement, and a lease that excludes other processes."""

from __future__ import annotations

import fcntl
import multiprocessing
import stat
import threading
import time
from pathlib import Path

import pytest
from ob1_gateway.stores.base import OB1Token
from ob1_gateway.stores.local.local_stores import FileTokenStore


def _token(n: int = 0, size: int = 10) -> OB1Token:
    return OB1Token(
        access_token=f"access-{n}-" + "x" * size,
        refresh_token=f"refresh-{n}",
        expires_at=1000.0 + n,
        organization_id="org_1",
        user_id="user_1",
        email="a@example.com",
    )


def test_save_is_private_and_round_trips(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "home" / "ob1-token.json")
    assert store.load() is None
    store.save(_token(1))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert store.load() == _token(1)
    assert store.load().refresh_token == "refresh-1"


def test_failed_save_keeps_the_old_token_and_no_temp_files(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "ob1-token.json")
    store.save(_token(1))
    broken = OB1Token(access_token=object())  # type: ignore[arg-type]  # not JSON-serialisable
    with pytest.raises(TypeError):
        store.save(broken)
    assert store.load() == _token(1)
    assert [p.name for p in tmp_path.iterdir()] == ["ob1-token.json"]


def test_readers_never_see_a_partial_file(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "ob1-token.json")
    store.save(_token(0, size=200_000))
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            store.save(_token(n, size=200_000))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 0.5
        reads = 0
        while time.monotonic() < deadline:
            token = store.load()  # raises JSONDecodeError on a torn file
            assert token is not None and token.refresh_token == f"refresh-{int(token.expires_at) - 1000}"
            reads += 1
    finally:
        stop.set()
        thread.join()
    assert reads > 10


def _hold_lease(path: str, held: multiprocessing.Event, release: multiprocessing.Event) -> None:
    store = FileTokenStore(Path(path))
    with store.lease():
        held.set()
        release.wait(10)


def test_lease_excludes_another_process(tmp_path: Path) -> None:
    path = tmp_path / "ob1-token.json"
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_lease, args=(str(path), held, release))
    child.start()
    try:
        assert held.wait(20), "child never took the lease"
        lock_path = path.with_suffix(path.suffix + ".lock")
        with open(lock_path, "a") as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)

        acquired = threading.Event()

        def take() -> None:
            with FileTokenStore(path).lease():
                acquired.set()

        taker = threading.Thread(target=take)
        taker.start()
        assert not acquired.wait(0.3), "lease was granted while another process held it"
        release.set()
        assert acquired.wait(10), "lease was not granted after the other process released it"
        taker.join()
    finally:
        release.set()
        child.join(10)
