"""Circuit breaker: stop calling a model after repeated failures instead of hammering it.

Hand-written on purpose (about 90 lines): pybreaker 1.4 holds its lock for the whole guarded
call, which would serialise our concurrent requests, and it classifies failures by exception
while ours are classified per HTTP attempt (5xx/timeouts count, 429 and 4xx do not).
"""

from __future__ import annotations

import threading
import time

from gemini_assets.core.gateway.breaker_board import READ_EVERY_S, BreakerBoard


class CircuitBreaker:
    """closed → open after `failure_threshold` consecutive failures → half-open after
    `reset_timeout_s` (one probe call at a time) → closed on a success, open again on a failure."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout_s: float = 60.0,
        board: BreakerBoard | None = None,
        key: str = "",
    ):
        """``board``: where an opening is published and read (breaker_board.py), so every worker
        of the same backend scope and model stops together; ``key`` names this breaker there."""
        self.failure_threshold = max(1, failure_threshold)
        self.reset_timeout_s = reset_timeout_s
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.times_opened = 0
        self._board, self._key = board, key
        self._read_at: float | None = None
        self._opened_elsewhere = False

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
        self._read_board()
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
            was_open = self._opened_at is not None
            self._failures, self._opened_at, self._probing, self._opened_elsewhere = 0, None, False, False
        if was_open and self._board is not None:  # the probe succeeded: every worker may call again
            self._board.publish(self._key, None)

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            opened = self._probing or self._failures >= self.failure_threshold
            if opened:
                if self._opened_at is None or self._probing:
                    self.times_opened += 1
                self._opened_at, self._probing = time.monotonic(), False
        if opened and self._board is not None:
            self._board.publish(self._key, time.time() + self.reset_timeout_s)

    def _read_board(self) -> None:
        """Follow the board: open here while another worker's breaker is open (turning half-open
        when its time ends), closed again when another worker's probe closed it."""
        now = time.monotonic()
        if self._board is None or (self._read_at is not None and now - self._read_at < READ_EVERY_S):
            return
        self._read_at = now
        until = self._board.opened_until(self._key)
        with self._lock:
            if until is None:
                if self._opened_elsewhere and not self._probing:
                    self._failures, self._opened_at, self._opened_elsewhere = 0, None, False
                return
            remaining = until - time.time()
            if remaining > 0 and self._opened_at is None:
                self._opened_at = now - (self.reset_timeout_s - remaining)
                self._opened_elsewhere = True

    def record_neutral(self) -> None:
        """An answer that says nothing about availability (429, 4xx): end a probe without verdict."""
        with self._lock:
            self._probing = False
