"""``kill -9`` of a real ``ob1gw serve`` with requests in flight, round after round: every response a
client received in full (stream or not) has its usage record in the store afterwards. The kill comes
right after a response completes, the moment a record written after the answer would be lost."""

from __future__ import annotations

import asyncio
import json
import random
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.gateway import ServedGateway, served

ROUNDS = 20
IN_FLIGHT = 100


async def _one(client: httpx.AsyncClient, gw: ServedGateway, i: int, stream: bool) -> str | None:
    """The request id of a response received whole, else None (the server died first)."""
    if i % 2:
        path, body = "/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 32}
        headers = {"x-api-key": gw.key, "anthropic-version": "2023-06-01"}
    else:
        path, body = "/v1/chat/completions", {"model": "gpt-4o-mini"}
        headers = {"authorization": f"Bearer {gw.key}"}
    body = {**body, "messages": [{"role": "user", "content": f"crash round request {i}"}], "stream": stream}
    try:
        async with client.stream("POST", gw.base_url + path, json=body, headers=headers) as response:
            raw = await response.aread()
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    if stream:
        ended = b"event: message_stop" in raw if i % 2 else raw.rstrip().endswith(b"data: [DONE]")
        if not ended:
            return None
    else:
        json.loads(raw)
    return response.headers["request-id"]


async def _round(gw: ServedGateway, rng: random.Random) -> tuple[set[str], int]:
    kill_after = rng.randrange(5, IN_FLIGHT - 5)
    received: set[str] = set()
    killed = asyncio.Event()

    async def tracked(client: httpx.AsyncClient, i: int) -> None:
        request_id = await _one(client, gw, i, stream=rng.random() < 0.5)
        if request_id is not None and not killed.is_set():
            received.add(request_id)
            if len(received) >= kill_after:
                gw.process.send_signal(signal.SIGKILL)  # right after a response completed
                killed.set()

    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(*(tracked(client, i) for i in range(IN_FLIGHT)))
    gw.process.wait(timeout=10)
    return received, kill_after


@pytest.mark.timeout(600)
def test_no_received_response_loses_its_usage_record_when_the_server_is_killed(tmp_path: Path, fake_ob1: Any) -> None:
    rng = random.Random(14)
    lost: list[str] = []
    received_total = 0
    for n in range(ROUNDS):
        fake_ob1.reset()
        fake_ob1.configure(reply_delay=0.3)  # answers spread over ~0.3 s: many in flight at the kill
        with served(tmp_path / f"round-{n}", fake_ob1) as gw:
            received, _ = asyncio.run(_round(gw, rng))
            recorded = {r.request_id for r in gw.backends.usage_store.records()}
        received_total += len(received)
        lost += sorted(received - recorded)
    assert received_total > ROUNDS * 5, "the kills came too early to test anything"
    assert lost == [], f"{len(lost)} of {received_total} received responses have no usage record"
