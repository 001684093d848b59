"""Ledger rows by the day the calls were made (UTC), across every partition.

A partition holds the calls made while processing one upload day; the provider bills by the day
a call was made. A backfill of last month's partitions spends today, so "spend of a day" reads
all partitions and filters on ``started_at``. DuckDB reads only the columns asked for.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import duckdb
import pandas as pd

from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import WAREHOUSE, table_glob

COLUMNS = ("call_id", "task", "model", "provider", "status_code", "cost_usd", "started_at")


def _connection(store: ObjectStore) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    if not store.is_local:
        # DuckDB reads s3:// through our fsspec filesystem: no extension download at run time.
        connection.register_filesystem(store.fs)
    return connection


_DESCRIBE = "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = true, union_by_name = true)"
_CALLS = """
    SELECT call_id, task, model, provider, status_code, cost_usd, started_at
    FROM read_parquet(?, hive_partitioning = true, union_by_name = true)
    WHERE started_at >= ? AND started_at < ?
"""
_CALLS_WITHOUT_PROVIDER = _CALLS.replace("model, provider,", "model, NULL::VARCHAR AS provider,")


def calls_on(store: ObjectStore, day: date) -> pd.DataFrame:
    """Ledger rows of calls started on ``day`` (UTC), from every partition."""
    if not any(obj.key.endswith(".parquet") for obj in store.walk_files(f"{WAREHOUSE}/call_ledger")):
        return pd.DataFrame({name: [] for name in COLUMNS})
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    glob = table_glob(store, "call_ledger")
    with _connection(store) as connection:
        # Partitions written before the multi-provider gateway have no provider column; when none
        # has it DuckDB cannot bind the name, so it is asked for only if some partition carries it.
        present = {str(row[0]) for row in connection.execute(_DESCRIBE, [glob]).fetchall()}
        sql = _CALLS if "provider" in present else _CALLS_WITHOUT_PROVIDER
        return connection.execute(sql, [glob, start, end]).df()


def spend_by_task(store: ObjectStore, day: date) -> dict[str, float]:
    """USD already recorded in the ledger for calls started on ``day``, per task (unpriced rows count 0)."""
    calls = calls_on(store, day)
    if calls.empty:
        return {}
    return {str(task): float(cost) for task, cost in calls.groupby("task")["cost_usd"].sum().items()}


def challenger_spend(store: ObjectStore, day: date) -> float:
    """USD of shadow-challenger calls started on ``day`` (variant challenger, every partition)."""
    if not any(obj.key.endswith(".parquet") for obj in store.walk_files(f"{WAREHOUSE}/call_ledger")):
        return 0.0
    start = datetime.combine(day, time(), tzinfo=UTC)
    sql = """
        SELECT coalesce(sum(cost_usd), 0)
        FROM read_parquet(?, hive_partitioning = true, union_by_name = true)
        WHERE started_at >= ? AND started_at < ? AND variant = 'challenger'
    """
    with _connection(store) as connection:
        found = connection.execute(sql, [table_glob(store, "call_ledger"), start, start + timedelta(days=1)]).fetchone()
    return float(found[0]) if found else 0.0
