"""``ob1gw serve --workers N`` (OB1GW_WORKERS): N real processes on one port, one set of limits."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from ob1_gateway.access.keys import issue_key
from ob1_gateway.stores.base import KeyPolicy

from bench.__main__ import child_pids, proc_stat
from tests.fixtures.gateway import served

BODY = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}


def test_workers_share_the_port_and_one_rate_limit(tmp_path: Path, fake_ob1: Any) -> None:
    fake_ob1.configure(reply_delay=0.3)  # requests overlap, so both workers take connections
    home = tmp_path / "home"
    with served(home, fake_ob1, workers=2) as gw:
        record, key = issue_key("limited", policy=KeyPolicy(rpm=5))
        gw.backends.key_store.put(record)
        assert len(child_pids(gw.process.pid)) == 2, "two worker processes"
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
    assert child_pids(gw.process.pid) == [], "stopping the server stops its workers"


def test_metrics_count_every_worker_s_requests(tmp_path: Path, fake_ob1: Any) -> None:
    """One scrape, answered by one worker, reports the requests both workers served."""
    fake_ob1.configure(reply_delay=0.3)
    with served(tmp_path / "home", fake_ob1, workers=2, metrics_token="scrape-token-123") as gw:
        headers = {"x-api-key": gw.key, "anthropic-version": "2023-06-01"}

        def call(_: int) -> int:
            with httpx.Client(base_url=gw.base_url, timeout=30) as client:
                return client.post("/v1/messages", json=BODY, headers=headers).status_code

        with ThreadPoolExecutor(10) as pool:
            assert list(pool.map(call, range(10))) == [200] * 10
        time.sleep(0.5)  # the last records are counted once written
        for _ in range(4):  # whichever worker answers the scrape
            text = httpx.get(
                gw.base_url + "/metrics", headers={"Authorization": "Bearer scrape-token-123"}, timeout=10
            ).text
            counted = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("ob1gw_requests_total{") and 'route="/v1/messages"' in line
            )
            assert counted == 10, text


def test_workers_stop_when_the_supervisor_is_killed(tmp_path: Path, fake_ob1: Any) -> None:
    """SIGKILL leaves no handler to run: the workers must notice by themselves and free the port."""
    import os
    import signal

    with served(tmp_path / "home", fake_ob1, workers=2) as gw:
        workers = child_pids(gw.process.pid)
        assert len(workers) == 2
        os.kill(gw.process.pid, signal.SIGKILL)
        gw.process.wait(timeout=10)
        deadline = time.monotonic() + 20
        while any(proc_stat(pid)[:1] not in ([], ["Z"]) for pid in workers):  # gone, or a zombie
            assert time.monotonic() < deadline, "orphaned workers kept running"
            time.sleep(0.1)
