"""Run termination reaches every thread of a step: quota waits and retry back-offs end at once.

Dagster turns a terminate (UI, SIGTERM) into an exception in the step's main thread only; the
worker threads calling the model would go on waiting for quota or sleeping before a retry. The
answer step sets this flag when it is interrupted, and every wait in the gateway polls it, so no
thread waits more than ``POLL_S`` after the stop. Process-wide on purpose: a stopping run stops
every model call of its process. A request already on the wire ends within its timeout; it was
journaled before it was sent, so the next run audits it (core/audit/journal.py).
"""

from __future__ import annotations

import threading

POLL_S = 0.5

_stop = threading.Event()


def request_stop() -> None:
    _stop.set()


def stop_requested() -> bool:
    return _stop.is_set()


def pause(seconds: float) -> bool:
    """Sleep up to ``seconds``; True when the run is stopping (return at once then)."""
    return _stop.wait(max(0.0, seconds))


def clear() -> None:
    """A new step in this process starts with no stop pending (tests, the in-process executor)."""
    _stop.clear()
