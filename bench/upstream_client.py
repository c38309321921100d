"""``python -m bench.upstream_client``: CPU per request of the gateway's upstream client alone.

``UpstreamClient.chat`` (the client every route sends through) drives ``--requests`` chat completions at
``--concurrency`` against the bench upstream answering after ``--delay`` seconds, in this process, after a
warm-up round that opens the connections. It prints CPU microseconds per request (this process's CPU
time, the upstream runs in its own), requests/s and the connections the pool opened. This is the figure
that chose aiohttp over httpx2 (bench/README.md, "Why aiohttp")."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from ob1_gateway.settings import Settings
from ob1_gateway.upstream.client import UpstreamClient
from ob1_gateway.upstream.token import StaticKey

from bench.__main__ import start_upstream, stop

BODY = {
    "model": "bench-model",
    "messages": [{"role": "user", "content": "hi " * 50}],
    "max_tokens": 100,
}


async def measure(port: int, key: str, concurrency: int, requests: int) -> tuple[float, float]:
    """(CPU µs per request, requests/s) over ``requests`` after a warm-up of the same size."""
    client = UpstreamClient(Settings(upstream_url=f"http://127.0.0.1:{port}/v1"), StaticKey(key))
    try:

        async def drive(total: int) -> None:
            left = total

            async def worker() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    await client.chat(BODY)

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        await drive(concurrency)
        cpu, wall = time.process_time(), time.monotonic()
        await drive(requests)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        return cpu / requests * 1e6, requests / wall
    finally:
        await client.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=750)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--delay", type=float, default=1.5, help="the mock model's answer time")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    key = "bench-upstream-key"
    upstream, port = start_upstream(key, delay=args.delay)
    try:
        import uvloop

        for round_ in range(args.rounds):
            per_request, rps = uvloop.run(measure(port, key, args.concurrency, args.requests))
            print(
                f"round {round_ + 1}: {per_request:.0f} µs CPU per request, {rps:.0f} requests/s "
                f"({args.requests} at concurrency {args.concurrency}, model answers in {args.delay:g} s)"
            )
    finally:
        stop(upstream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
