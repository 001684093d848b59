"""Client-side quotas per model (RPM, input TPM, RPD) shared by every process that uses the store.

pyrate-limiter v4 does the admission (sliding-window log). The store is chosen by URL:
`sqlite:///dir` (default: one SQLite file per model and dimension with a file lock, shared by
every process of the machine), `redis://host:port/db` or `postgresql://...` for several hosts,
`memory` for one process.

Each dimension is its own bucket (one file each: two SQLite buckets on one file deadlock), taken
in the order day → tokens → minute so a request slot is consumed last and is never wasted while
the call waits for tokens. Tokens are counted in units of 1,000 because the log stores one row
per unit. The estimate is reserved before the call; the ledger keeps the real usage.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from pyrate_limiter import AbstractBucket, Limiter, Rate, RateItem, SQLiteBucket

from gemini_assets.core.contracts.errors import CallCancelled, ConfigurationError, QuotaExhausted, QuotaWaitExceeded
from gemini_assets.core.gateway import stopping
from gemini_assets.core.gateway.routing import Limits

log = logging.getLogger(__name__)
SLOW_WAIT_S = 10.0  # a wait for quota longer than this is logged (dimension and duration)
DAY_PROBE_S = 1.0  # how long a call may wait for a day slot before the day counts as spent
DECREASE_EVERY = 1 / 6  # of a window: 429s closer together than this are one burst, one decrease

TOKEN_UNIT = 1000
MINUTE_MS = 60_000
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Admission:
    rpm_used: int | None
    tpm_used: int | None
    rpd_used: int | None
    waited_s: float


@dataclass
class _Dimension:
    limiter: Limiter
    bucket: AbstractBucket
    window_ms: int
    unit: int


class _LearnedGate:
    """The quota a provider's 429s revealed, below the configured one (this process only).

    Every admission is noted (time, units) even before anything is learned, so a limit learned
    mid-window already counts the calls of that window. pyrate's buckets have fixed rates and
    cannot be re-sized with their history, hence this small sliding log: with a hint (the server
    said its limit) the limit stays there; without one it halves on a 429 (at most once per
    DECREASE_EVERY of the window) and grows back by 5% of the configured limit per calm window.
    """

    def __init__(self, configured: int, window_s: float):
        self.configured, self.window_s = configured, window_s
        self.limit: int | None = None
        self.hinted = False
        self.changed = 0.0
        self.log: deque[tuple[float, int]] = deque()

    def take(self, now: float, units: int) -> float:
        """0 and the units noted when they fit, else the seconds until they may."""
        while self.log and self.log[0][0] <= now - self.window_s:
            self.log.popleft()
        if self.limit is not None and not self.hinted and now - self.changed >= self.window_s:
            self.limit = min(self.configured, self.limit + max(1, self.configured // 20))
            self.changed = now
            if self.limit >= self.configured:
                self.limit = None  # back to the configured quota: nothing learned any more
        used = sum(weight for _, weight in self.log)
        if self.limit is not None and self.log and used + units > self.limit:
            return self.log[0][0] + self.window_s - now
        self.log.append((now, units))
        return 0.0

    def lower(self, now: float, hint: int | None) -> int | None:
        """Apply a 429: the new limit when it went down, else None."""
        if hint is not None and hint <= 0:
            hint = None  # "0" cannot be the quota of a model that answers: no size was said
        current = self.limit or self.configured
        if hint is not None:
            new, hinted = min(current, max(1, hint)), True
        elif now - self.changed < self.window_s * DECREASE_EVERY and self.limit is not None:
            return None  # the same burst of 429s: one decrease is enough
        else:
            new, hinted = max(1, current // 2), self.hinted
        if self.limit is not None and new >= self.limit:
            return None
        self.limit, self.hinted, self.changed = new, hinted, now
        return new


class QuotaLimiter:
    def __init__(
        self,
        url: str,
        limits: dict[str, Limits] | None = None,
        default: Limits | None = None,
        minute_ms: int = MINUTE_MS,
        day_ms: int = DAY_MS,
        margin_ms: int = 250,
        namespace: str = "",
    ):
        """`margin_ms` widens each window a little: requests reach the server a few ms after
        admission, so a strict window at the client could still be a hair over at the server.
        `namespace` (the backend scope: endpoint, provider, key fingerprint) is part of every
        bucket's name, so one shared store never mixes the counts of two accounts or endpoints."""
        self.url = url
        self.limits = dict(limits or {})
        self.default = default or Limits()
        self.minute_ms, self.day_ms, self.margin_ms = minute_ms, day_ms, margin_ms
        self.namespace = namespace
        self._dims: dict[tuple[str, str], _Dimension | None] = {}
        self._spent_until: dict[str, datetime] = {}
        self._gates: dict[tuple[str, str], _LearnedGate] = {}
        self._lock = threading.Lock()

    def limits_for(self, model: str) -> Limits:
        return self.limits.get(model) or self.default

    def acquire(self, model: str, estimated_tokens: int, timeout_s: float) -> Admission:
        """Block until the call fits every quota of the model; QuotaWaitExceeded after timeout_s.

        A spent day (RPD) is never waited for: QuotaExhausted at once, with the reset time, and
        for every later call of the model until then. A wait longer than ``SLOW_WAIT_S`` is
        logged with its dimension; a stopping run (stopping.py) ends every wait within POLL_S."""
        started = time.monotonic()
        spent_until = self._spent_until.get(model)
        if spent_until is not None and spent_until > datetime.now(UTC):
            raise QuotaExhausted(model, "rpd", spent_until)
        units = max(1, math.ceil(estimated_tokens / TOKEN_UNIT))
        used: dict[str, int | None] = {}
        for name, weight in (("rpd", 1), ("tpm", units), ("rpm", 1)):
            dim = self._dimension(model, name)
            if dim is None:
                used[name] = None
                continue
            if name == "rpd":
                self._take_day(dim, model, started, timeout_s)
            else:
                self._wait_for_learned(model, name, weight * dim.unit, started, timeout_s)
                self._wait_for(dim, model, name, weight, started, timeout_s)
            used[name] = self._used(dim)
        waited = time.monotonic() - started
        if waited > SLOW_WAIT_S:
            log.info("%s admitted after waiting %.1f s for its quota", model, waited)
        return Admission(used["rpm"], used["tpm"], used["rpd"], waited)

    def learn(self, model: str, dimension: str, hint: int | None) -> None:
        """A 429 on ``dimension`` (rpm or tpm): lower this process's rate to the server's real
        quota (``hint``) or, without one, halve it; logged, and reported in learned_limits()."""
        gate = self._gate(model, dimension)
        if gate is None:
            return
        with self._lock:
            new = gate.lower(time.monotonic(), hint)
        if new is not None:
            configured = getattr(self.limits_for(model), dimension)
            source = "the server's quota" if hint is not None else "429s, halved"
            log.warning(
                "learned %s limit of %s: %d (configured %s; from %s)", dimension, model, new, configured, source
            )

    def learned_limits(self) -> dict[str, int]:
        """Limits learned from 429s that are still in force, as '<model> <dimension>' -> limit."""
        with self._lock:
            return {f"{model} {name}": g.limit for (model, name), g in self._gates.items() if g.limit is not None}

    def spend_day(self, model: str, retry_after_s: float | None) -> datetime:
        """The server said the day's requests are spent: no call of the model until it resets
        (its retry hint, else midnight Pacific time, when Gemini's daily quotas reset)."""
        if retry_after_s is not None:
            resets_at = datetime.now(UTC) + timedelta(seconds=retry_after_s)
        else:
            pacific = datetime.now(ZoneInfo("America/Los_Angeles"))
            resets_at = (pacific + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        with self._lock:
            self._spent_until[model] = resets_at
        log.warning("the server says the rpd quota of %s is spent until %s", model, resets_at)
        return resets_at

    def _gate(self, model: str, name: str) -> _LearnedGate | None:
        configured = getattr(self.limits_for(model), name)
        if configured is None:  # a dimension the routing file leaves to the server's 429s
            return None
        window_s = (self.minute_ms + self.margin_ms) / 1000
        with self._lock:
            if (model, name) not in self._gates:
                self._gates[(model, name)] = _LearnedGate(configured, window_s)
            return self._gates[(model, name)]

    def _wait_for_learned(self, model: str, name: str, units: int, started: float, timeout_s: float) -> None:
        gate = self._gate(model, name)
        while gate is not None:
            with self._lock:
                wait_s = gate.take(time.monotonic(), units)
            if wait_s <= 0:
                return
            if time.monotonic() - started + min(wait_s, stopping.POLL_S) > timeout_s:
                raise QuotaWaitExceeded(model, name, timeout_s)
            if stopping.pause(min(wait_s, stopping.POLL_S)):
                raise CallCancelled(model)

    def _take_day(self, dim: _Dimension, model: str, started: float, timeout_s: float) -> None:
        key = self._key(model)
        # A short blocking try, not a non-blocking one: the store's file lock needs a timeout too.
        if dim.limiter.try_acquire(key, weight=1, timeout=min(DAY_PROBE_S, timeout_s)):
            return
        wait_ms: Any = dim.bucket.waiting(RateItem(key, int(cast(Any, dim.bucket).now()), 1))
        if int(wait_ms) <= DAY_PROBE_S * 1000:  # a slot frees at once (or the lock was busy): wait
            self._wait_for(dim, model, "rpd", 1, started, timeout_s)
            return
        resets_at = datetime.now(UTC) + timedelta(milliseconds=int(wait_ms))
        with self._lock:
            self._spent_until[model] = resets_at
        log.warning("rpd quota of %s is spent until %s: its remaining calls go to review", model, resets_at)
        raise QuotaExhausted(model, "rpd", resets_at)

    def _wait_for(self, dim: _Dimension, model: str, name: str, weight: int, started: float, timeout_s: float) -> None:
        """Poll in short slices: a stop request or the timeout is seen within POLL_S."""
        logged = False
        while True:
            elapsed = time.monotonic() - started
            if elapsed >= timeout_s:
                raise QuotaWaitExceeded(model, name, timeout_s)
            # Never 0: pyrate's timeout also bounds the wait for the store's file lock.
            slice_s = max(0.05, min(stopping.POLL_S, timeout_s - elapsed))
            if dim.limiter.try_acquire(self._key(model), weight=weight, timeout=slice_s):
                return
            if stopping.stop_requested():
                raise CallCancelled(model)
            waited = time.monotonic() - started
            if waited >= SLOW_WAIT_S and not logged:
                logged = True
                log.warning("%s has waited %.0f s for its %s quota (still waiting)", model, waited, name)

    def close(self) -> None:
        with self._lock:
            for dim in self._dims.values():
                if dim is not None:
                    dim.limiter.close()
            self._dims.clear()

    def _dimension(self, model: str, name: str) -> _Dimension | None:
        key = (model, name)
        with self._lock:
            if key not in self._dims:
                self._dims[key] = self._build(model, name)
            return self._dims[key]

    def _build(self, model: str, name: str) -> _Dimension | None:
        limits = self.limits_for(model)
        limit = getattr(limits, name)
        if limit is None:
            return None
        window = (self.day_ms if name == "rpd" else self.minute_ms) + self.margin_ms
        unit = TOKEN_UNIT if name == "tpm" else 1
        capacity = max(1, limit // unit)
        bucket = _bucket(self.url, [Rate(capacity, window)], f"{self._key(model)}_{name}")
        return _Dimension(Limiter(bucket), bucket, window, unit)

    def _key(self, model: str) -> str:
        return _safe(f"{self.namespace}_{model}" if self.namespace else model)

    def _used(self, dim: _Dimension) -> int | None:
        """Units in the current window right after admission (a call_ledger column)."""
        bucket = dim.bucket
        if isinstance(bucket, SQLiteBucket):
            with bucket.lock:
                clock: Any = bucket  # pyrate-limiter leaves now() unannotated
                start = int(clock.now()) - dim.window_ms
                # The table name is ours (_safe(model) + dimension): SQLite cannot bind identifiers.
                sql = f"SELECT COUNT(*) FROM '{bucket.table}' WHERE item_timestamp >= ?"  # noqa: S608
                cur = bucket.conn.execute(sql, (start,))
                count = int(cur.fetchone()[0])
                cur.close()
        else:  # other stores: items not yet leaked, an upper bound of the window's use
            counting: Any = bucket  # count() is on every store but not on the abstract base
            count = int(counting.count())
        return count * dim.unit


def _safe(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", model)


def _bucket(url: str, rates: list[Rate], table: str) -> AbstractBucket:
    if url == "memory":
        from pyrate_limiter import InMemoryBucket

        return InMemoryBucket(rates)
    if url.startswith("sqlite:///"):
        folder = Path(url.removeprefix("sqlite://"))
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / f"{table}.sqlite"
        return SQLiteBucket.init_from_file(rates, table=table, db_path=str(db), use_file_lock=True)
    if url.startswith(("redis://", "rediss://")):
        from pyrate_limiter import RedisBucket
        from redis import Redis  # optional dependency: pip install redis

        redis_bucket: AbstractBucket = RedisBucket.init(rates, Redis.from_url(url), table)
        return redis_bucket
    if url.startswith(("postgresql://", "postgres://")):
        from psycopg_pool import ConnectionPool  # optional dependency: pip install psycopg-pool
        from pyrate_limiter import PostgresBucket

        return PostgresBucket(ConnectionPool(url), table, rates)
    raise ConfigurationError(
        f"GEMINI_ASSETS_LIMITER={url!r}: use sqlite:///<dir>, redis://..., postgresql://..., memory or off"
    )


def limiter_for(
    url: str | None, limits: dict[str, Limits], default: Limits, namespace: str = ""
) -> QuotaLimiter | None:
    """None when the store is 'off' (quota left to the server's 429s)."""
    if url == "off":
        return None
    return QuotaLimiter(url or "memory", limits, default, namespace=namespace)
