"""Run termination reaches every thread of a step: quota waits and retry back-offs end at once.

Dagster turns a terminate (UI, SIGTERM) into an exception in the step's main thread only; the
worker threads calling the model or uploading would go on waiting for quota or sleeping before a
retry. A step running items in a thread pool sets this flag when it is interrupted
(``stop_on_interrupt``), and every wait in the gateway polls it, so no thread waits more than
``POLL_S`` after the stop. Process-wide on purpose: a stopping run stops every model call and
upload of its process. A request already on the wire ends within its timeout; it was journaled
before it was sent, so the next run audits it (core/audit/journal.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

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


@contextmanager
def stop_on_interrupt(pool: ThreadPoolExecutor) -> Iterator[None]:
    """A terminated run (Dagster raises its interrupt, a BaseException, in this thread only) stops
    the worker threads too: their quota waits and back-offs end within POLL_S, and items not
    started yet are dropped; finished items are already journaled and archived."""
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, Exception):
            request_stop()
            pool.shutdown(wait=False, cancel_futures=True)
        raise
