"""``ob1gw serve --workers N`` (OB1GW_WORKERS): N real processes on one port, one set of limits."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from ob1_gateway.keys import issue_key
from ob1_gateway.stores.base import KeyPolicy

from tests.fixtures.gateway import served

BODY = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_workers_share_the_port_and_one_rate_limit(tmp_path: Path, fake_ob1: Any) -> None:
    fake_ob1.configure(reply_delay=0.3)  # requests overlap, so both workers take connections
    home = tmp_path / "home"
    with served(home, fake_ob1, workers=2) as gw:
        record, key = issue_key("limited", policy=KeyPolicy(rpm=5))
        gw.backends.key_store.put(record)
        assert len(_children(gw.process.pid)) == 2, "two worker processes"
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}

        def call(_: int) -> int:
            with httpx.Client(base_url=gw.base_url, timeout=30) as client:  # a connection each
                return client.post("/v1/messages", json=BODY, headers=headers).status_code

        with ThreadPoolExecutor(12) as pool:
            statuses = sorted(pool.map(call, range(12)))
        assert statuses == [200] * 5 + [429] * 7, "the minute's 5 requests are shared by both workers"
        deadline = time.monotonic() + 10
        while len([r for r in gw.backends.usage_store.records() if r.key_id == record.key_id]) < 5:
            assert time.monotonic() < deadline, "every admitted request is recorded"
            time.sleep(0.05)
        with sqlite3.connect(home / "gateway.sqlite3") as db:
            (counted,) = db.execute(
                "SELECT SUM(requests) FROM rate_windows WHERE key_id = ?", (record.key_id,)
            ).fetchone()
        assert counted == 5, "the counters live in the shared database"
    assert gw.process.returncode is not None
    assert _children(gw.process.pid) == [], "stopping the server stops its workers"


def test_workers_stop_when_the_supervisor_is_killed(tmp_path: Path, fake_ob1: Any) -> None:
    """SIGKILL leaves no handler to run: the workers must notice by themselves and free the port."""
    import os
    import signal

    with served(tmp_path / "home", fake_ob1, workers=2) as gw:
        workers = _children(gw.process.pid)
        assert len(workers) == 2
        os.kill(gw.process.pid, signal.SIGKILL)
        gw.process.wait(timeout=10)
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in workers):
            assert time.monotonic() < deadline, "orphaned workers kept running"
            time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
