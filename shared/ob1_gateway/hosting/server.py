"""The HTTP server in front of the app for ``ob1gw serve``: uvicorn with its httptools parser, plus the
limits that parser lacks, so a connection without a key cannot exhaust memory or hold a slot forever.

Why httptools and not h11: h11 has a 16 KiB head limit of its own but parses in Python, several times
slower per request (bench/README.md); httptools (llhttp) is uvicorn's fast path and has no limit at all,
so the gateway adds them at the protocol layer, before any byte reaches the app:

- a request head (request line + headers) larger than ``max_header_bytes`` is answered 431 and closed;
- a head not complete ``header_timeout_seconds`` after the connection opened, or after the previous
  response on a kept-alive connection, is answered 408 and closed (slowloris);
- at most ``max_connections`` connections (or requests in flight) at once; beyond that, 503 (uvicorn's
  ``limit_concurrency``).

The body has its own deadline in the app (``body_timeout_seconds``, answered 408 in the API's shape)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..settings import Settings

__all__ = ["exit_with_parent", "guarded_protocol", "run_workers", "server_config"]

log = logging.getLogger("ob1_gateway.server")


class _GuardedHttpToolsProtocol(HttpToolsProtocol):
    max_head_bytes = 64 * 1024
    head_timeout = 15.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes, self._head_tail = 0, b""
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_timer is not None and self._head_too_large(data):  # checked before the parser sees it
            self._refuse(431, "Request Header Fields Too Large")
            return
        super().data_received(data)

    def _head_too_large(self, data: bytes) -> bool:
        """Whether the head being read, with ``data``, passes the limit: the bytes up to its blank line, or
        all of them while there is none yet. However the bytes arrive, in one read or in many."""
        seen = self._head_tail + data
        ends = [at + len(mark) for mark in (b"\r\n\r\n", b"\n\n") if (at := seen.find(mark)) >= 0]
        head = self._head_bytes - len(self._head_tail) + (min(ends) if ends else len(seen))
        self._head_bytes += len(data)
        self._head_tail = seen[-3:]
        return head > self.max_head_bytes

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()  # the next request on this connection gets the same deadline

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_bytes, self._head_tail = 0, b""
        self._head_timer = self.loop.call_later(self.head_timeout, self._refuse, 408, "Request Timeout")

    def _disarm_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
        self._head_timer = None

    def _refuse(self, status: int, reason: str) -> None:
        """Answer with a bare status and close: no app was reached, so there is no API shape to use."""
        self._disarm_head_timer()
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # nothing of a response was sent yet
            body = reason.encode()
            head = f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            head += f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
            self.transport.write(head.encode() + body)
        self.transport.close()


def guarded_protocol(settings: Settings) -> type[HttpToolsProtocol]:
    """The protocol class with this deployment's limits."""
    limits = {"max_head_bytes": settings.max_header_bytes, "head_timeout": settings.header_timeout_seconds}
    return type("GuardedHttpToolsProtocol", (_GuardedHttpToolsProtocol,), limits)


def server_config(app: Any, settings: Settings, *, host: str, port: int, **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(settings),
        limit_concurrency=settings.max_connections,
        log_level=settings.log_level.lower(),
        access_log=False,
        **extra,
    )


def run_workers(settings: Settings, *, host: str, port: int, serve: Callable[[socket.socket, bool], None]) -> None:
    """``ob1gw serve --workers N``: bind the port once and fork N workers that accept on it, each running
    ``serve(sock, first)`` (its own stores, app and event loop); restart one that dies (waiting longer
    each time it dies again soon), and stop them all on SIGINT/SIGTERM. Workers stop by themselves if
    this supervisor is killed outright (``exit_with_parent``).

    Forked, not spawned: this process has imported the app's modules but holds no event loop, thread or
    database connection, so a worker starts from a clean state and shares the imported code with its
    siblings copy-on-write (``gc.freeze`` keeps the collector from touching, and so copying, those
    pages). Forked workers need less memory than fresh interpreters (bench/README.md, "More than one process")."""
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sock = socket.create_server((host, port), backlog=2048)
    supervisor = os.getpid()
    gc.freeze()

    stop_signals = {signal.SIGTERM, signal.SIGINT}

    def start(first: bool) -> int:
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # none lands between the fork and the reset
        pid = os.fork()
        if pid:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
            return pid
        code = 1  # the worker, from here on
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # uvicorn installs its own
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
            exit_with_parent(supervisor)
            random.seed()  # siblings must not share the retry jitter
            serve(sock, first)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            log.exception("worker %d failed", os.getpid())
        finally:
            logging.shutdown()
            os._exit(code)  # never back into the supervisor's code, and no finalizer runs twice

    workers = [start(i == 0) for i in range(settings.workers)]
    started = [time.monotonic()] * len(workers)
    delay = 1.0
    try:
        while not stopping:
            for i, pid in enumerate(workers):
                ended, status = os.waitpid(pid, os.WNOHANG)
                if not ended or stopping:
                    continue
                # one that ran for a minute gets a quick restart; one that keeps dying, a slower one
                delay = 1.0 if time.monotonic() - started[i] > 60 else min(delay * 2, 30.0)
                code = os.waitstatus_to_exitcode(status)
                log.warning("worker %d exited with %s; another in %.0f s", pid, code, delay)
                deadline = time.monotonic() + delay
                while not stopping and time.monotonic() < deadline:
                    time.sleep(0.1)
                if not stopping:
                    workers[i], started[i] = start(False), time.monotonic()
            time.sleep(0.2)
    finally:
        _stop_all(workers)
        sock.close()


def _stop_all(workers: list[int], grace: float = 30.0) -> None:
    """SIGTERM every worker still running, then SIGKILL whichever has not exited within ``grace``."""
    running = set()
    for pid in workers:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                os.kill(pid, signal.SIGTERM)
                running.add(pid)
        except ChildProcessError:
            pass
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        running = {pid for pid in running if os.waitpid(pid, os.WNOHANG)[0] == 0}
        time.sleep(0.05)
    for pid in running:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def exit_with_parent(supervisor: int) -> None:
    """A worker: be sent SIGTERM when the supervisor dies, however it dies (Linux; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != supervisor:  # it died before this worker got here
        raise SystemExit(0)
