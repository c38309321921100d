"""``python -m bench.hostile_body``: what one authenticated worst-case body costs everyone else.

Starts the bench upstream and ``ob1gw serve`` as ``python -m bench`` does, then, for each hostile body at
``--mb`` megabytes (under the 32 MB body limit), sends it while another thread calls ``GET /health``
every 5 ms, and prints the body's answer and time, ``/health``'s latency over that time (p50, p99, max)
and the gateway's peak RSS while it handled the body (``VmHWM``, reset before each body). To compare
with another checkout, run it with ``PYTHONPATH=<that checkout>/shared``: the gateway is started with the
environment it is given."""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.__main__ import start_gateway, start_upstream, stop
from bench.stats import percentile


def _bodies(mb: float) -> dict[str, bytes]:
    size = int(mb * 1024 * 1024)
    head, tail = b'{"model":"bench-model","max_tokens":16,"messages":', b"}"
    hi = head + b'[{"role":"user","content":"hi"}],"x":['

    def many(item: bytes, count: int) -> bytes:
        return b",".join([item] * count)

    return {
        "objects [{},{},…]": head + b"[" + many(b"{}", size // 3) + b"]" + tail,
        "numbers [1,1,…]": hi + many(b"1", size // 2) + b"]}",
        'strings ["a",…]': hi + many(b'"a"', size // 4) + b"]}",
        "deep [[[…]]] x many": hi + many(b"[" * 120 + b"]" * 120, size // 242) + b"]}",
        # just inside every bound: a valid conversation the gateway must translate and send
        "24k messages (at the bounds)": head + b"[" + many(b'{"role":"user","content":"a"}', 24_500) + b"]" + tail,
    }


def _probe(url: str, latencies: list[float], done: threading.Event) -> None:
    """``GET url`` every 5 ms until ``done``, noting each answer's latency in ms."""
    with httpx.Client(timeout=60) as client:
        while not done.is_set():
            started = time.perf_counter()
            client.get(url)
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.005)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=16.0, help="size of each hostile body")
    args = parser.parse_args(argv)
    key = "bench-upstream-key"
    upstream, port = start_upstream(key)
    gateway = start_gateway(port, key, Path(tempfile.mkdtemp(prefix="ob1gw-hostile-")) / "home")
    assert gateway.proc is not None
    base = f"http://127.0.0.1:{gateway.port}"
    try:
        for name, body in _bodies(args.mb).items():
            _reset_peak(gateway.proc.pid)
            rss_before = _peak_rss_mb(gateway.proc.pid)
            latencies: list[float] = []
            done = threading.Event()
            prober = threading.Thread(target=_probe, args=(base + "/health", latencies, done))
            prober.start()
            time.sleep(0.1)
            started = time.perf_counter()
            answer = httpx.post(base + "/v1/messages", content=body, headers=gateway.headers, timeout=120)
            took = time.perf_counter() - started
            time.sleep(0.1)
            done.set()
            prober.join()
            print(
                f"{name}, {len(body) / 1e6:.1f} MB: {answer.status_code} in {took * 1000:.0f} ms; /health "
                f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
                f"max {max(latencies):.1f} ms ({len(latencies)} probes); peak RSS "
                f"{rss_before:.0f} -> {_peak_rss_mb(gateway.proc.pid):.0f} MB"
            )
    finally:
        stop(gateway.proc)
        stop(upstream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
