"""The load generator: its own process, driven over stdin/stdout with one JSON line per job.

A minimal HTTP/1.1 keep-alive client on raw asyncio streams (uvloop when installed), so the client
costs as little CPU as possible on a 2-core machine and adds the same overhead to every target.
Each job names a target (host, port), a path, headers and a body, and either

- ``{"mode": "latency", "n": N, "concurrency": 1}`` → ``{"total": [s...], "ttfb": [s...], "errors": k}``
- ``{"mode": "rps", "seconds": S, "concurrency": C}`` → ``{"rps": r, "done": n, "errors": k}``
- ``{"mode": "sustained", "seconds": S, "concurrency": C}`` → ``{"rps": r, "total": [s...], "ttfb": [s...],
  "errors": k}`` (requests sent in the window after a warm-up)

TTFB is the time from writing the request to reading the first byte of the response body (the first
chunk of a chunked response). Run: ``python -m bench.loadgen`` (reads jobs until EOF).
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from typing import Any

from bench.upstream import run_fast


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, float, float]:
        """(status, ttfb, total) in seconds; reconnects once if a kept-alive connection was closed."""
        for attempt in (1, 2):
            if self.writer is None:
                await self.open()
            try:
                return await self._request(raw)
            except (asyncio.IncompleteReadError, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _request(self, raw: bytes) -> tuple[int, float, float]:
        reader, writer = self.reader, self.writer
        assert reader is not None and writer is not None
        t0 = time.perf_counter()
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value:
                chunked = True
            elif name == b"connection" and value == b"close":
                close = True
        ttfb = 0.0
        if chunked:
            while True:
                size_line = await reader.readuntil(b"\r\n")
                if not ttfb:
                    ttfb = time.perf_counter() - t0
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                await reader.readexactly(size + 2)
        elif length is not None:
            if length:
                await reader.readexactly(1)
                ttfb = time.perf_counter() - t0
                await reader.readexactly(length - 1)
        else:
            await reader.read()
            close = True
        total = time.perf_counter() - t0
        if not ttfb:
            ttfb = total
        if close:
            self.close()
        return status, ttfb, total


def build_request(job: dict[str, Any]) -> bytes:
    body = json.dumps(job["body"]).encode() if job.get("body") is not None else b""
    method = "POST" if body else "GET"
    headers = {"Host": f"{job['host']}:{job['port']}", **job.get("headers", {})}
    if body:
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body))
    head = f"{method} {job['path']} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body


async def latency(job: dict[str, Any], raw: bytes) -> dict[str, Any]:
    conns = [Conn(job["host"], job["port"]) for _ in range(job.get("concurrency", 1))]
    remaining = job["n"]
    totals: list[float] = []
    ttfbs: list[float] = []
    errors = 0

    async def worker(conn: Conn) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            try:
                status, ttfb, total = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                continue
            if status != 200:
                errors += 1
                continue
            totals.append(total)
            ttfbs.append(ttfb)

    await asyncio.gather(*(worker(c) for c in conns))
    for c in conns:
        c.close()
    return {"total": totals, "ttfb": ttfbs, "errors": errors}


async def rps(job: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """Completions per second after a warm-up; runs past ``seconds`` (up to 20 s more) until at least
    ``concurrency`` requests completed, so a slow target still yields a rate instead of 0."""
    conns = [Conn(job["host"], job["port"]) for _ in range(job["concurrency"])]
    warmup = float(job.get("warmup", 0.3))
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + float(job["seconds"])
    hard_stop = stop + 20.0
    min_done = job["concurrency"]
    done = errors = 0
    last = measure_from

    async def worker(conn: Conn) -> None:
        nonlocal done, errors, last
        while True:
            now = time.perf_counter()
            if now >= hard_stop or (now >= stop and done >= min_done):
                return
            try:
                status, _, _ = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                continue
            finished = time.perf_counter()
            if finished >= measure_from:
                if status == 200:
                    done += 1
                    last = max(last, finished)
                else:
                    errors += 1

    await asyncio.gather(*(worker(c) for c in conns))
    for c in conns:
        c.close()
    elapsed = last - measure_from
    return {"rps": done / elapsed if elapsed > 0 else 0.0, "done": done, "errors": errors}


async def sustained(job: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """``concurrency`` connections each sending back-to-back for ``seconds`` after a warm-up: completions
    per second in the window, and the latencies (total, time to first body byte) of those completions."""
    conns = [Conn(job["host"], job["port"]) for _ in range(job["concurrency"])]
    start = time.perf_counter()
    measure_from = start + float(job.get("warmup", 3.0))
    stop = measure_from + float(job["seconds"])
    totals: list[float] = []
    ttfbs: list[float] = []
    errors = 0

    async def worker(conn: Conn) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            try:
                status, ttfb, total = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                await asyncio.sleep(0.05)
                continue
            if sent < measure_from or time.perf_counter() > stop:
                continue
            if status == 200:
                totals.append(total)
                ttfbs.append(ttfb)
            else:
                errors += 1

    await asyncio.gather(*(worker(c) for c in conns))
    for c in conns:
        c.close()
    return {"rps": len(totals) / float(job["seconds"]), "total": totals, "ttfb": ttfbs, "errors": errors}


MODES = {"latency": latency, "rps": rps, "sustained": sustained}


async def main_async() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        job = json.loads(line)
        raw = build_request(job)
        try:
            result = await MODES[job["mode"]](job, raw)
        except Exception as exc:  # reported, never fatal: the orchestrator prints it in the table
            result = {"fatal": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


def main() -> None:
    run_fast(main_async())


if __name__ == "__main__":
    main()
