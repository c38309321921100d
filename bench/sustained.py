"""``python -m bench.sustained``: the load LLM gateways are compared under (Bifrost and LiteLLM publish it):
a mock model that answers after 1.5 s, hundreds of open connections, sustained. Prints a markdown table.

For each connection count: the bench upstream directly (``bench/upstream.py --delay``), ``ob1gw serve``
and (unless ``--no-litellm``) the LiteLLM proxy, one after the other, each for ``--seconds`` after a
warm-up, ``POST /v1/messages`` (direct: the chat body the gateway would send). Then the streaming variant
(time to first byte). The load generator is its own process (bench/loadgen.py) on the same machine.
RSS is the process's peak (VmHWM) after its runs."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.__main__ import (
    ROOT,
    LoadGen,
    Target,
    child_pids,
    cpu_ticks,
    job,
    litellm_python,
    log,
    rss_mb,
    settle,
    start_gateway,
    start_litellm,
    start_upstream,
    stop,
)
from bench.stats import markdown_table, percentile

WARMUP = 3.0


def target_ticks(target: Target) -> int:
    """CPU ticks of the target's processes (a ``--workers`` supervisor and its workers), 0 for none."""
    if target.proc is None:
        return 0
    return sum(cpu_ticks(pid) for pid in (target.proc.pid, *child_pids(target.proc.pid)))


def pss_mb(target: Target) -> float:
    """Proportional set size of the target's processes, summed: pages shared by forked workers counted
    once in all (a sum of RSS counts them once per process)."""
    if target.proc is None:
        return 0.0
    total = 0.0
    for pid in (target.proc.pid, *child_pids(target.proc.pid)):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


class PeakPss:
    """The largest ``pss_mb`` seen, sampled every ``every`` seconds while the block runs (the kernel keeps
    a peak for RSS, VmHWM, but none for PSS)."""

    def __init__(self, target: Target, every: float = 0.25) -> None:
        self.target, self.every, self.peak = target, every, 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(self.every):
            self.peak = max(self.peak, pss_mb(self.target))

    def __enter__(self) -> PeakPss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, pss_mb(self.target))


def run(gen: LoadGen, target: Target, route: str, connections: int, seconds: float) -> dict[str, Any]:
    """One run; ``cpu`` is the target's mean CPU over it (warm-up included), in cores; ``pss`` its peak
    proportional memory."""
    before, started = target_ticks(target), time.monotonic()
    with PeakPss(target) as memory:
        out = gen.run(job(target, route, mode="sustained", seconds=seconds, concurrency=connections, warmup=WARMUP))
    out["pss"] = memory.peak if target.proc else None
    if "fatal" in out:
        raise RuntimeError(f"{target.name}: {out['fatal']}")
    ticks = target_ticks(target) - before
    out["cpu"] = ticks / os.sysconf("SC_CLK_TCK") / (time.monotonic() - started) if target.proc else None
    return out


def row(name: str, connections: int, out: dict[str, Any], direct_rps: float | None, rss: float | None) -> list[str]:
    totals, ttfbs = out["total"], out["ttfb"]
    p = lambda v, q: f"{percentile(v, q) * 1000:,.0f}" if v else "-"  # noqa: E731
    share = f"{out['rps'] / direct_rps:.0%}" if direct_rps else "-"
    return [
        name,
        str(connections),
        f"{out['rps']:.0f}",
        share,
        p(totals, 50),
        p(totals, 99),
        p(ttfbs, 99),
        str(out["errors"]),
        "-" if out.get("cpu") is None else f"{out['cpu']:.0%}",
        "-" if rss is None else f"{rss:.0f}",
        "-" if out.get("pss") is None else f"{out['pss']:.0f}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", default="750,1500", help="comma-separated connection counts")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--delay", type=float, default=1.5, help="the mock model's answer time")
    parser.add_argument("--workers", default="1,2", help="comma-separated `ob1gw serve --workers` counts")
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--litellm-venv", type=Path, default=ROOT / ".venv-litellm")
    parser.add_argument("--no-install-litellm", action="store_true")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.connections.split(",")]
    key = "bench-upstream-key"
    upstream, port = start_upstream(key, delay=args.delay)
    work = Path(tempfile.mkdtemp(prefix="ob1gw-sustained-"))
    gen = LoadGen()
    targets: list[Target] = [Target("upstream", port, {"Authorization": f"Bearer {key}"})]
    try:
        for workers in (int(w) for w in args.workers.split(",")):
            gateway = start_gateway(port, key, work / f"home-{workers}", workers=str(workers))
            gateway.name = "ob1gw serve" + (f" --workers {workers}" if workers > 1 else "")
            targets.append(gateway)
        gateways = len(targets) - 1
        if not args.no_litellm:
            try:
                litellm_python(args.litellm_venv, not args.no_install_litellm)
                targets.append(start_litellm(args.litellm_venv, not args.no_install_litellm, port, key, work))
            except Exception as exc:  # reported, never fatal
                log(f"LiteLLM not run: {exc}")
        rows = []
        for connections in levels:
            direct_rps = None
            for target in targets:
                settle(targets)
                log(f"{target.name}: {connections} connections, {args.seconds:g} s")
                out = run(gen, target, "messages", connections, args.seconds)
                direct_rps = direct_rps or out["rps"]
                rss = rss_mb(target.proc.pid, "VmHWM") if target.proc else None
                rows.append(row(target.name, connections, out, direct_rps, rss))
        stream_rows = []
        direct_rps = None
        for target in targets[: 1 + gateways]:
            settle(targets)
            log(f"{target.name}: stream, {levels[0]} connections")
            out = run(gen, target, "messages-stream", levels[0], args.seconds)
            direct_rps = direct_rps or out["rps"]
            rss = rss_mb(target.proc.pid, "VmHWM") if target.proc else None
            stream_rows.append(row(target.name + " (stream)", levels[0], out, direct_rps, rss))
        header = ["target", "connections", "req/s", "of direct", "p50 ms", "p99 ms", "TTFB p99 ms", "errors"]
        header += ["CPU (of a core)", "peak RSS MB", "peak PSS MB"]
        print(markdown_table(header, rows + stream_rows))
        print(
            f"\nMock model answers after {args.delay:g} s; {args.seconds:g} s per run after a 3 s warm-up; "
            "POST /v1/messages (direct: the chat body the gateway sends). CPU and memory of --workers N: all its "
            "processes; CPU is the mean over the run, warm-up included. RSS is the kernel's peak (VmHWM) "
            "summed over processes, so pages forked workers share count once per process; PSS (sampled "
            "every 0.25 s) counts each page once."
        )
    finally:
        gen.close()
        for target in targets:
            stop(target.proc)
        stop(upstream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
