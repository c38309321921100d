"""``python -m bench.forged_keys``: CPU the gateway spends refusing one forged key (the 401 a flood costs).

Starts the bench upstream and ``ob1gw serve`` as ``python -m bench`` does (Powertools on, as in Lambda:
each refusal writes its EMF metrics line), sends ``--requests`` forged requests one after another per
kind, and divides the gateway process's CPU ticks by the requests. Kinds: a key that could not have been
issued (refused before any store read) and a well-formed key with a new unknown id each time (one key
store read each: SQLite here, DynamoDB on AWS). docs/aws.md "What abuse costs" uses these figures."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.__main__ import ANTHROPIC_BODY, cpu_ticks, start_gateway, start_upstream, stop

KINDS: dict[str, Callable[[int], str]] = {
    "malformed": lambda i: f"ob1gw_zz{i:010d}_" + "A" * 32,  # "z" is not hex: never issued
    "unknown id": lambda i: f"ob1gw_{i:012x}_" + "A" * 32,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    key = "bench-upstream-key"
    upstream, port = start_upstream(key, delay=0.0)
    gateway = start_gateway(port, key, Path(tempfile.mkdtemp(prefix="ob1gw-forged-")) / "home", powertools="on")
    assert gateway.proc is not None
    tick = os.sysconf("SC_CLK_TCK")
    url = f"http://127.0.0.1:{gateway.port}/v1/messages"
    try:
        with httpx.Client() as client:
            sent = 0
            for kind, forge in KINDS.items():
                figures = []
                for _ in range(args.rounds):
                    before = cpu_ticks(gateway.proc.pid)
                    for _ in range(args.requests):
                        sent += 1
                        response = client.post(url, json=ANTHROPIC_BODY, headers={"x-api-key": forge(sent)})
                        if response.status_code != 401:
                            raise RuntimeError(f"{kind}: {response.status_code} {response.text[:200]}")
                    figures.append((cpu_ticks(gateway.proc.pid) - before) / tick / args.requests * 1000)
                print(f"{kind}: {' / '.join(f'{f:.2f}' for f in figures)} ms CPU per refusal ({args.requests} each)")
    finally:
        stop(gateway.proc)
        stop(upstream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
