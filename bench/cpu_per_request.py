"""``python -m bench.cpu_per_request``: CPU the gateway spends on one request, by route.

Starts the bench upstream (answering after ``--delay`` s) and ``ob1gw serve`` as ``python -m bench``
does, sends ``--requests`` requests per round at ``--concurrency`` from the load generator, and divides
the gateway process's CPU ticks (user + system, its writer thread included) by the requests. The figure
does not depend on how loaded the machine is as much as requests/s does."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bench.__main__ import LoadGen, cpu_ticks, job, start_gateway, start_upstream, stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", default="messages,messages-stream,chat", help="comma-separated bench routes")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--delay", type=float, default=0.05, help="the mock model's answer time")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    key = "bench-upstream-key"
    upstream, port = start_upstream(key, delay=args.delay)
    gateway = start_gateway(port, key, Path(tempfile.mkdtemp(prefix="ob1gw-cpu-")) / "home", workers="1")
    assert gateway.proc is not None
    gen = LoadGen()
    tick = os.sysconf("SC_CLK_TCK")
    try:
        for route in args.routes.split(","):
            gen.run(job(gateway, route, mode="latency", n=300, concurrency=args.concurrency))  # warm-up
            figures = []
            for _ in range(args.rounds):
                before = cpu_ticks(gateway.proc.pid)
                out = gen.run(job(gateway, route, mode="latency", n=args.requests, concurrency=args.concurrency))
                if out["errors"]:
                    raise RuntimeError(f"{route}: {out['errors']} errors")
                figures.append((cpu_ticks(gateway.proc.pid) - before) / tick / args.requests * 1000)
            print(
                f"{route}: {' / '.join(f'{f:.2f}' for f in figures)} ms CPU per request "
                f"({args.requests} at concurrency {args.concurrency}, model answers in {args.delay:g} s)"
            )
    finally:
        gen.close()
        stop(gateway.proc)
        stop(upstream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
