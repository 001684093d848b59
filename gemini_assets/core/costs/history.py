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

COLUMNS = ("call_id", "task", "model", "status_code", "cost_usd", "started_at")


def _connection(store: ObjectStore) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    if not store.is_local:
        # DuckDB reads s3:// through our fsspec filesystem: no extension download at run time.
        connection.register_filesystem(store.fs)
    return connection


def calls_on(store: ObjectStore, day: date) -> pd.DataFrame:
    """Ledger rows of calls started on ``day`` (UTC), from every partition."""
    if not any(obj.key.endswith(".parquet") for obj in store.walk_files(f"{WAREHOUSE}/call_ledger")):
        return pd.DataFrame({name: [] for name in COLUMNS})
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    sql = """
        SELECT call_id, task, model, status_code, cost_usd, started_at
        FROM read_parquet(?, hive_partitioning = true, union_by_name = true)
        WHERE started_at >= ? AND started_at < ?
    """
    with _connection(store) as connection:
        return connection.execute(sql, [table_glob(store, "call_ledger"), start, end]).df()


def spend_by_task(store: ObjectStore, day: date) -> dict[str, float]:
    """USD already recorded in the ledger for calls started on ``day``, per task (unpriced rows count 0)."""
    calls = calls_on(store, day)
    if calls.empty:
        return {}
    return {str(task): float(cost) for task, cost in calls.groupby("task")["cost_usd"].sum().items()}
