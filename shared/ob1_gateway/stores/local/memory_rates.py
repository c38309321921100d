"""Rate-limit counters in one process's memory (``ob1gw serve``): the local ``RateStore``."""

from __future__ import annotations

import threading


class MemoryRateStore:
    """One process's counters (``ob1gw serve``); windows older than the current one are dropped."""

    blocking = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, int], list[int]] = {}
        self._inflight: dict[str, int] = {}

    def take(self, key_id: str, window: int, rpm: int | None, tpm: int | None) -> tuple[str | None, int, int]:
        with self._lock:
            counts = self._windows.setdefault((key_id, window), [0, 0])
            if rpm is not None and counts[0] >= rpm:
                return "requests", counts[0], counts[1]
            if tpm is not None and counts[1] >= tpm:
                return "tokens", counts[0], counts[1]
            counts[0] += 1
            if len(self._windows) > 4096:  # old windows of every key: forget them
                self._windows = {k: v for k, v in self._windows.items() if k[1] >= window - 1}
            return None, counts[0], counts[1]

    def add_tokens(self, key_id: str, window: int, tokens: int) -> None:
        with self._lock:
            self._windows.setdefault((key_id, window), [0, 0])[1] += tokens

    def enter(self, key_id: str, max_parallel: int) -> bool:
        with self._lock:
            if self._inflight.get(key_id, 0) >= max_parallel:
                return False
            self._inflight[key_id] = self._inflight.get(key_id, 0) + 1
            return True

    def leave(self, key_id: str) -> None:
        with self._lock:
            left = self._inflight.get(key_id, 0) - 1
            if left > 0:
                self._inflight[key_id] = left
            else:
                self._inflight.pop(key_id, None)
