"""Profile the gateway under load: ``python -m bench.profile [route] [--seconds S] [--concurrency C]``.

Starts the bench upstream and ``ob1gw serve`` like ``python -m bench``, drives ``route`` (chat, messages,
messages-stream) from the load generator process and records the gateway with py-spy
(``pip install py-spy``) into ``bench/results/profile-<route>.txt`` (collapsed stacks).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench.__main__ import ROOT, LoadGen, job, start_gateway, start_upstream, stop


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("route", nargs="?", default="messages", choices=["chat", "messages", "messages-stream"])
    p.add_argument("--seconds", type=float, default=8)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--gil", action="store_true", help="sample only the thread holding the GIL (Python's CPU)")
    p.add_argument("--delay", type=float, default=0.0, help="the mock model's answer time (sustained load)")
    args = p.parse_args()
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    key = "sk-upstream-" + secrets.token_hex(8)
    workdir = Path(tempfile.mkdtemp(prefix="ob1gw-profile-"))
    up, port = start_upstream(key, delay=args.delay)
    gw = start_gateway(port, key, workdir / "home")
    gen = LoadGen()
    try:
        gen.run(job(gw, args.route, mode="latency", n=200, concurrency=4))
        raw = out_dir / f"profile-{args.route}.txt"
        load = threading.Thread(
            target=gen.run,
            args=(
                job(
                    gw,
                    args.route,
                    mode="sustained" if args.delay else "rps",
                    seconds=args.seconds + 1,
                    concurrency=args.concurrency,
                    warmup=0,
                ),
            ),
        )
        load.start()
        subprocess.run(
            [
                py_spy,
                "record",
                "-p",
                str(gw.proc.pid),
                "-d",
                str(int(args.seconds)),
                "-r",
                "500",
                "-f",
                "raw",
                "-o",
                str(raw),
                "--nonblocking",
                *(["--gil"] if args.gil else []),
            ],
            check=True,
            capture_output=True,
        )
        load.join()
        print(f"wrote {raw} (collapsed stacks; e.g. flamegraph.pl or speedscope can draw them)")
    finally:
        gen.close()
        stop(gw.proc)
        stop(up)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
