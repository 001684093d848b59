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

import math
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyrate_limiter import AbstractBucket, Limiter, Rate, SQLiteBucket

from gemini_assets.core.contracts.errors import ConfigurationError, QuotaWaitExceeded
from gemini_assets.core.gateway.routing import Limits

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


class QuotaLimiter:
    def __init__(
        self,
        url: str,
        limits: dict[str, Limits] | None = None,
        default: Limits | None = None,
        minute_ms: int = MINUTE_MS,
        day_ms: int = DAY_MS,
        margin_ms: int = 250,
    ):
        """`margin_ms` widens each window a little: requests reach the server a few ms after
        admission, so a strict window at the client could still be a hair over at the server."""
        self.url = url
        self.limits = dict(limits or {})
        self.default = default or Limits()
        self.minute_ms, self.day_ms, self.margin_ms = minute_ms, day_ms, margin_ms
        self._dims: dict[tuple[str, str], _Dimension | None] = {}
        self._lock = threading.Lock()

    def limits_for(self, model: str) -> Limits:
        return self.limits.get(model) or self.default

    def acquire(self, model: str, estimated_tokens: int, timeout_s: float) -> Admission:
        """Block until the call fits every quota of the model; QuotaWaitExceeded after timeout_s."""
        started = time.monotonic()
        units = max(1, math.ceil(estimated_tokens / TOKEN_UNIT))
        used: dict[str, int | None] = {}
        for name, weight in (("rpd", 1), ("tpm", units), ("rpm", 1)):
            dim = self._dimension(model, name)
            if dim is None:
                used[name] = None
                continue
            # Never 0: pyrate's timeout also bounds the wait for the store's file lock.
            remaining = max(1.0, timeout_s - (time.monotonic() - started))
            if not dim.limiter.try_acquire(_safe(model), weight=weight, timeout=remaining):
                raise QuotaWaitExceeded(model, name, timeout_s)
            used[name] = self._used(dim)
        return Admission(used["rpm"], used["tpm"], used["rpd"], time.monotonic() - started)

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
        bucket = _bucket(self.url, [Rate(capacity, window)], f"{_safe(model)}_{name}")
        return _Dimension(Limiter(bucket), bucket, window, unit)

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


def limiter_for(url: str | None, limits: dict[str, Limits], default: Limits) -> QuotaLimiter | None:
    """None when the store is 'off' (quota left to the server's 429s)."""
    if url == "off":
        return None
    return QuotaLimiter(url or "memory", limits, default)
