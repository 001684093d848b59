"""Circuit breaker: stop calling a model after repeated failures instead of hammering it.

Hand-written on purpose (about 50 lines): pybreaker 1.4 holds its lock for the whole guarded
call, which would serialise our concurrent requests, and it classifies failures by exception
while ours are classified per HTTP attempt (5xx/timeouts count, 429 and 4xx do not).
"""

from __future__ import annotations

import threading
import time


class CircuitBreaker:
    """closed → open after `failure_threshold` consecutive failures → half-open after
    `reset_timeout_s` (one probe call at a time) → closed on a success, open again on a failure."""

    def __init__(self, failure_threshold: int = 5, reset_timeout_s: float = 60.0):
        self.failure_threshold = max(1, failure_threshold)
        self.reset_timeout_s = reset_timeout_s
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.times_opened = 0

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if time.monotonic() - self._opened_at >= self.reset_timeout_s else "open"

    def allow(self) -> bool:
        """May a call be made now? In half-open only one probe is in flight at a time."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half_open" and not self._probing:
                self._probing = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._probing = 0, None, False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self.failure_threshold:
                if self._opened_at is None or self._probing:
                    self.times_opened += 1
                self._opened_at, self._probing = time.monotonic(), False

    def record_neutral(self) -> None:
        """An answer that says nothing about availability (429, 4xx): end a probe without verdict."""
        with self._lock:
            self._probing = False
