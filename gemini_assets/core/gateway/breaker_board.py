"""Where an open circuit breaker is published, so one worker's open breaker stops the others.

The board lives in the limiter's store (GEMINI_ASSETS_LIMITER): a SQLite file beside the quota
buckets on one machine, a Redis key or a Postgres row across hosts, a dict in one process. It
holds one fact per backend scope and model: "open until <epoch seconds>". Reads are cached for
``READ_EVERY_S`` so a closed breaker costs no store round trip on most calls.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

READ_EVERY_S = 1.0


class BreakerBoard(Protocol):
    def opened_until(self, key: str) -> float | None:
        """Epoch seconds until which the breaker is open, or None."""
        ...

    def publish(self, key: str, until: float | None) -> None:
        """Open it until ``until``, or close it (None)."""
        ...


class MemoryBoard:
    """No store to share through (limiter `memory` or `off`): the gateway's own breakers only."""

    def __init__(self) -> None:
        self._shared: dict[str, float] = {}
        self._lock = threading.Lock()

    def opened_until(self, key: str) -> float | None:
        with self._lock:
            return self._shared.get(key)

    def publish(self, key: str, until: float | None) -> None:
        with self._lock:
            if until is None:
                self._shared.pop(key, None)
            else:
                self._shared[key] = until


class SQLiteBoard:
    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "breakers.sqlite"
        with self._connect() as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS breakers (key TEXT PRIMARY KEY, until REAL NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        # One short connection per use: the board is read about once a second, and a connection
        # per call is safe across threads and processes (SQLite locks the file itself).
        return sqlite3.connect(self.path, timeout=5)

    def opened_until(self, key: str) -> float | None:
        with self._connect() as connection:
            row = connection.execute("SELECT until FROM breakers WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else None

    def publish(self, key: str, until: float | None) -> None:
        with self._connect() as connection:
            if until is None:
                connection.execute("DELETE FROM breakers WHERE key = ?", (key,))
            else:
                connection.execute("INSERT OR REPLACE INTO breakers (key, until) VALUES (?, ?)", (key, until))


class RedisBoard:
    def __init__(self, url: str):
        from redis import Redis  # optional dependency, as for the Redis limiter

        self.redis: Any = Redis.from_url(url)

    def opened_until(self, key: str) -> float | None:
        value = self.redis.get(f"breaker:{key}")
        return float(value) if value is not None else None

    def publish(self, key: str, until: float | None) -> None:
        if until is None:
            self.redis.delete(f"breaker:{key}")
        else:  # expires by itself: a crashed worker never leaves a breaker open for good
            self.redis.set(f"breaker:{key}", str(until), px=max(1, int((until - time.time()) * 1000) + 60_000))


class PostgresBoard:
    def __init__(self, url: str):
        from psycopg import errors
        from psycopg_pool import ConnectionPool  # optional dependency, as for the Postgres limiter

        self.pool: Any = ConnectionPool(url, min_size=1, max_size=2, open=True)
        with self.pool.connection() as connection:
            try:
                with connection.transaction():
                    connection.execute(
                        "CREATE TABLE IF NOT EXISTS gemini_assets_breakers (key TEXT PRIMARY KEY, until FLOAT8)"
                    )
            except (errors.UniqueViolation, errors.DuplicateTable):
                pass  # two workers created it at the same moment: IF NOT EXISTS is not atomic in Postgres

    def opened_until(self, key: str) -> float | None:
        with self.pool.connection() as connection:
            row = connection.execute("SELECT until FROM gemini_assets_breakers WHERE key = %s", (key,)).fetchone()
        return float(row[0]) if row else None

    def publish(self, key: str, until: float | None) -> None:
        with self.pool.connection() as connection:
            if until is None:
                connection.execute("DELETE FROM gemini_assets_breakers WHERE key = %s", (key,))
            else:
                connection.execute(
                    "INSERT INTO gemini_assets_breakers (key, until) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET until = EXCLUDED.until",
                    (key, until),
                )


def breaker_board(url: str | None) -> BreakerBoard:
    """The board in the limiter's store (same URL forms as GEMINI_ASSETS_LIMITER)."""
    if url and url.startswith("sqlite:///"):
        return SQLiteBoard(Path(url.removeprefix("sqlite://")))
    if url and url.startswith(("redis://", "rediss://")):
        return RedisBoard(url)
    if url and url.startswith(("postgresql://", "postgres://")):
        return PostgresBoard(url)
    return MemoryBoard()
