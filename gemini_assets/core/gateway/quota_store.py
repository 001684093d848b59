"""Where the quota counts live: one atomic admission over every dimension of a model.

Written here instead of using pyrate-limiter's buckets (which this project used until issue 16)
because a bucket holds one fixed set of rates: admitting a call against RPD, TPM and RPM took
three buckets, three store round trips (each with a file lock on SQLite, 4-5 ms per call) and
could not be atomic across them, and a bucket cannot be re-sized when the server reveals a lower
quota. Here one transaction (SQLite, Postgres) or one Lua script (Redis) checks all dimensions
and records the call in all or none. Each dimension is a sliding-window log of (time, weight)
with a running total, so admission costs O(expired entries), not O(entries in the window).

The store's own clock decides (Redis `TIME`, Postgres `clock_timestamp()`), so hosts whose clocks
disagree still share one window; SQLite and memory are one machine and use its clock.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gemini_assets.core.contracts.errors import ConfigurationError


@dataclass(frozen=True)
class Demand:
    dimension: str  # rpd, tpm or rpm
    window_ms: int
    limit: int
    weight: int  # 1 request, or the tokens reserved; never above limit (the caller clamps it)


@dataclass(frozen=True)
class Verdict:
    admitted: bool
    used: dict[str, int]  # per dimension: the window's total after this call (admitted) or now (refused)
    wait_ms: dict[str, int] = field(default_factory=dict)  # refused dimensions: ms until the weight fits
    stamp_ms: int = 0  # the store's clock at the admission: the entries' timestamp (refund() needs it)


class QuotaStore(Protocol):
    def admit(self, key: str, demands: Sequence[Demand]) -> Verdict:
        """Record the call in every dimension of ``key`` if it fits all of them, else in none."""
        ...

    def refund(self, key: str, stamp_ms: int, demands: Sequence[Demand]) -> None:
        """Give back part of an admission made at ``stamp_ms`` (a lease's unused remainder): a
        negative entry with the same timestamp, so it leaves the window together with it."""
        ...

    def close(self) -> None: ...


def wait_until_fits(entries: Iterable[Sequence[int]], total: int, demand: Demand, now_ms: int) -> int:
    """Ms until enough of the oldest entries leave the window for ``demand`` to fit."""
    needed, freed = total + demand.weight - demand.limit, 0
    for stamp, weight in entries:
        freed += weight
        if freed >= needed:
            return max(1, stamp + demand.window_ms - now_ms + 1)
    return demand.window_ms


class MemoryQuotaStore:
    """One process (GEMINI_ASSETS_LIMITER=memory)."""

    def __init__(self) -> None:
        self._logs: dict[str, deque[list[int]]] = {}  # [stamp, weight], oldest first
        self._totals: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, key: str, demands: Sequence[Demand]) -> Verdict:
        now = int(time.time() * 1000)
        used, waits = {}, {}
        with self._lock:
            for demand in demands:
                name = f"{key}:{demand.dimension}"
                entries = self._logs.setdefault(name, deque())
                total = self._totals.get(name, 0)
                while entries and entries[0][0] <= now - demand.window_ms:
                    total -= entries.popleft()[1]
                self._totals[name] = used[demand.dimension] = total
                if total + demand.weight > demand.limit:
                    waits[demand.dimension] = wait_until_fits(entries, total, demand, now)
            if waits:
                return Verdict(False, used, waits)
            for demand in demands:
                name = f"{key}:{demand.dimension}"
                self._logs[name].append([now, demand.weight])
                self._totals[name] += demand.weight
                used[demand.dimension] += demand.weight
        return Verdict(True, used, stamp_ms=now)

    def refund(self, key: str, stamp_ms: int, demands: Sequence[Demand]) -> None:
        with self._lock:
            for demand in demands:
                name = f"{key}:{demand.dimension}"
                for entry in reversed(self._logs.get(name, ())):  # a lease is recent: near the end
                    if entry[0] == stamp_ms:
                        taken = min(entry[1], demand.weight)
                        entry[1] -= taken
                        self._totals[name] -= taken
                        break

    def close(self) -> None:
        pass


class _SqlLog:
    """The log and totals in SQL, shared by the SQLite and Postgres stores (same statements, only
    the placeholder and the table prefix differ); runs inside the caller's write transaction."""

    def __init__(self, prefix: str, p: str):
        log, totals = f"{prefix}quota_log", f"{prefix}quota_total"
        self.schema = [
            f"CREATE TABLE IF NOT EXISTS {log} (key TEXT NOT NULL, ts BIGINT NOT NULL, weight BIGINT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {log}_key_ts ON {log} (key, ts)",
            f"CREATE TABLE IF NOT EXISTS {totals} (key TEXT PRIMARY KEY, total BIGINT NOT NULL)",
        ]
        # Table names are ours (the prefix is a constant of each store): SQL cannot bind identifiers.
        self.expire = f"DELETE FROM {log} WHERE key = {p} AND ts <= {p} RETURNING weight"  # noqa: S608
        self.total = f"SELECT total FROM {totals} WHERE key = {p}"  # noqa: S608
        self.entries = f"SELECT ts, weight FROM {log} WHERE key = {p} ORDER BY ts"  # noqa: S608
        self.record = f"INSERT INTO {log} (key, ts, weight) VALUES ({p}, {p}, {p})"  # noqa: S608
        self.set_total = (
            f"INSERT INTO {totals} (key, total) VALUES ({p}, {p}) "  # noqa: S608
            "ON CONFLICT (key) DO UPDATE SET total = excluded.total"
        )

    def admit(self, cursor: Any, key: str, demands: Sequence[Demand], now: int) -> Verdict:
        used, waits = {}, {}
        for demand in demands:
            name = f"{key}:{demand.dimension}"
            cursor.execute(self.expire, (name, now - demand.window_ms))
            expired = sum(int(row[0]) for row in cursor.fetchall())
            cursor.execute(self.total, (name,))
            row = cursor.fetchone()
            total = (int(row[0]) if row else 0) - expired
            used[demand.dimension] = total
            if expired:
                cursor.execute(self.set_total, (name, total))
            if total + demand.weight > demand.limit:
                cursor.execute(self.entries, (name,))
                waits[demand.dimension] = wait_until_fits(cursor.fetchall(), total, demand, now)
        if waits:
            return Verdict(False, used, waits)
        for demand in demands:
            name = f"{key}:{demand.dimension}"
            used[demand.dimension] += demand.weight
            cursor.execute(self.record, (name, now, demand.weight))
            cursor.execute(self.set_total, (name, used[demand.dimension]))
        return Verdict(True, used, stamp_ms=now)

    def refund(self, cursor: Any, key: str, stamp_ms: int, demands: Sequence[Demand], now: int) -> None:
        for demand in demands:
            if stamp_ms <= now - demand.window_ms:
                continue  # the admission has left its window already: nothing left to give back
            name = f"{key}:{demand.dimension}"
            cursor.execute(self.record, (name, stamp_ms, -demand.weight))
            cursor.execute(self.total, (name,))
            row = cursor.fetchone()
            cursor.execute(self.set_total, (name, (int(row[0]) if row else 0) - demand.weight))


class SQLiteQuotaStore:
    """Every process of one machine: one file, WAL, a `BEGIN IMMEDIATE` transaction per admission
    (SQLite's own write lock serialises processes; no extra file lock)."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "quota.sqlite"
        self._sql = _SqlLog("", "?")
        # autocommit mode: transactions are begun explicitly, IMMEDIATE so two processes never
        # both read a total and then both write it.
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode syncs at checkpoints, not per commit: a power cut may forget the last
        # admissions (the server's 429s still stand behind them), a crash of the process cannot.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.Lock()
        with self._lock:
            for statement in self._sql.schema:
                self._conn.execute(statement)

    def admit(self, key: str, demands: Sequence[Demand]) -> Verdict:
        verdict: Verdict = self._in_transaction(self._sql.admit, key, demands)
        return verdict

    def refund(self, key: str, stamp_ms: int, demands: Sequence[Demand]) -> None:
        self._in_transaction(lambda cursor, k, d, now: self._sql.refund(cursor, k, stamp_ms, d, now), key, demands)

    def _in_transaction(self, work: Any, key: str, demands: Sequence[Demand]) -> Any:
        with self._lock:
            cursor = self._conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                result = work(cursor, key, demands, int(time.time() * 1000))
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
            return result

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PostgresQuotaStore:
    """Several hosts: one transaction per admission, serialised per model by an advisory lock."""

    def __init__(self, url: str):
        from psycopg import errors
        from psycopg_pool import ConnectionPool  # optional dependency: pip install psycopg-pool

        self._sql = _SqlLog("gemini_assets_", "%s")
        self.pool: Any = ConnectionPool(url, min_size=1, max_size=4, open=True)
        with self.pool.connection() as connection:
            for statement in self._sql.schema:
                try:
                    with connection.transaction():
                        connection.execute(statement)
                except (errors.UniqueViolation, errors.DuplicateTable):
                    pass  # another worker created it at the same moment (IF NOT EXISTS is not atomic)

    def admit(self, key: str, demands: Sequence[Demand]) -> Verdict:
        verdict: Verdict = self._locked(self._sql.admit, key, demands)
        return verdict

    def refund(self, key: str, stamp_ms: int, demands: Sequence[Demand]) -> None:
        self._locked(lambda cursor, k, d, now: self._sql.refund(cursor, k, stamp_ms, d, now), key, demands)

    def _locked(self, work: Any, key: str, demands: Sequence[Demand]) -> Any:
        with self.pool.connection() as connection, connection.transaction(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s)), (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
                (key,),
            )
            now = int(cursor.fetchone()[1])
            return work(cursor, key, demands, now)

    def close(self) -> None:
        self.pool.close()


# Per dimension i: KEYS[2i-1] the log (a sorted set of "ms:seq:weight" scored by ms), KEYS[2i]
# its running total; the last key a sequence that makes members unique. ARGV: window, limit,
# weight per dimension. Returns {admitted, used..., wait_ms... (-1 when the dimension fits)}.
_ADMIT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #ARGV / 3
local used, waits, refused = {}, {}, false
for i = 1, n do
  local log, tot = KEYS[2 * i - 1], KEYS[2 * i]
  local window, limit, weight = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local total = tonumber(redis.call('GET', tot) or '0')
  if redis.call('EXISTS', log) == 0 then total = 0 end
  local expired = redis.call('ZRANGEBYSCORE', log, '-inf', now - window)
  if #expired > 0 then
    for _, member in ipairs(expired) do total = total - tonumber(string.match(member, ':(-?%d+)$')) end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
    redis.call('SET', tot, total, 'KEEPTTL')
  end
  used[i], waits[i] = total, -1
  if total + weight > limit then
    refused = true
    local needed, freed, entries = total + weight - limit, 0, redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
    waits[i] = window
    for j = 1, #entries, 2 do
      freed = freed + tonumber(string.match(entries[j], ':(-?%d+)$'))
      if freed >= needed then
        waits[i] = math.max(1, tonumber(entries[j + 1]) + window - now + 1)
        break
      end
    end
  end
end
if not refused then
  local seq = redis.call('INCR', KEYS[2 * n + 1])
  for i = 1, n do
    local window, weight = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i])
    redis.call('ZADD', KEYS[2 * i - 1], now, now .. ':' .. seq .. ':' .. weight)
    used[i] = used[i] + weight
    redis.call('SET', KEYS[2 * i], used[i], 'PX', window * 2)
    redis.call('PEXPIRE', KEYS[2 * i - 1], window * 2)
  end
end
local out = {refused and 0 or 1, now}
for i = 1, n do out[#out + 1] = used[i] end
for i = 1, n do out[#out + 1] = waits[i] end
return out
"""

# A negative entry stamped like the admission it gives back (ARGV[1]); per dimension KEYS as
# above and ARGV window, weight.
_REFUND_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stamp = tonumber(ARGV[1])
local n = (#ARGV - 1) / 2
local seq = redis.call('INCR', KEYS[2 * n + 1])
for i = 1, n do
  local window, weight = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  if stamp > now - window and redis.call('EXISTS', KEYS[2 * i - 1]) == 1 then
    redis.call('ZADD', KEYS[2 * i - 1], stamp, stamp .. ':' .. seq .. ':-' .. weight)
    redis.call('SET', KEYS[2 * i], tonumber(redis.call('GET', KEYS[2 * i]) or '0') - weight, 'KEEPTTL')
  end
end
return n
"""


class RedisQuotaStore:
    """Several hosts: one Lua script per admission (atomic in Redis, one round trip)."""

    def __init__(self, url: str):
        from redis import Redis  # optional dependency: pip install redis

        self.redis: Any = Redis.from_url(url)
        self._admit = self.redis.register_script(_ADMIT_LUA)
        self._refund = self.redis.register_script(_REFUND_LUA)

    def admit(self, key: str, demands: Sequence[Demand]) -> Verdict:
        args = [value for d in demands for value in (d.window_ms, d.limit, d.weight)]
        reply = [int(value) for value in self._admit(keys=self._keys(key, demands), args=args)]
        count = len(demands)
        used = {d.dimension: reply[2 + i] for i, d in enumerate(demands)}
        waits = {d.dimension: reply[2 + count + i] for i, d in enumerate(demands) if reply[2 + count + i] >= 0}
        return Verdict(bool(reply[0]), used, waits, stamp_ms=reply[1])

    def refund(self, key: str, stamp_ms: int, demands: Sequence[Demand]) -> None:
        args = [stamp_ms, *(value for d in demands for value in (d.window_ms, d.weight))]
        self._refund(keys=self._keys(key, demands), args=args)

    @staticmethod
    def _keys(key: str, demands: Sequence[Demand]) -> list[str]:
        tag = "{" + key + "}"  # one hash slot for all keys of a model (Redis Cluster)
        keys = [f"quota:{tag}:{d.dimension}:{part}" for d in demands for part in ("log", "total")]
        return [*keys, f"quota:{tag}:seq"]

    def close(self) -> None:
        self.redis.close()


def quota_store(url: str) -> QuotaStore:
    """The store named by GEMINI_ASSETS_LIMITER (`off` is handled by the caller)."""
    if url == "memory":
        return MemoryQuotaStore()
    if url.startswith("sqlite:///"):
        return SQLiteQuotaStore(Path(url.removeprefix("sqlite://")))
    if url.startswith(("redis://", "rediss://")):
        return RedisQuotaStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresQuotaStore(url)
    raise ConfigurationError(
        f"GEMINI_ASSETS_LIMITER={url!r}: use sqlite:///<dir>, redis://..., postgresql://..., memory or off"
    )
