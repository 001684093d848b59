"""Hive-partitioned Parquet tables: ``warehouse/<table>/date=<YYYY-MM-DD>/part-0.parquet``.

The layout is the analyst contract: ``duckdb.read_parquet('<root>/warehouse/<table>/**/*.parquet',
hive_partitioning=true)`` reads every table, with ``date`` coming from the folder name.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.schemas import TABLES, TableSpec

WAREHOUSE = "warehouse"


def partition_prefix(table: str, day: str) -> str:
    return f"{WAREHOUSE}/{table}/date={day}"


def partition_key(table: str, day: str) -> str:
    return f"{partition_prefix(table, day)}/part-0.parquet"


def empty_frame(spec: TableSpec) -> pd.DataFrame:
    return spec.arrow_schema.empty_table().to_pandas()


def to_arrow(spec: TableSpec, frame: pd.DataFrame) -> pa.Table:
    """Cast a frame to the table's declared schema (column order and types)."""
    missing = [c for c in spec.column_names if c not in frame.columns]
    if missing:
        raise ValueError(f"{spec.name}: missing columns {missing}")
    return pa.Table.from_pandas(frame[spec.column_names], schema=spec.arrow_schema, preserve_index=False)


def write_partition(store: ObjectStore, table: str, day: str, frame: pd.DataFrame) -> str:
    """Replace one day of a table; returns the written key."""
    arrow = to_arrow(TABLES[table], frame)
    store.delete_prefix(partition_prefix(table, day))
    key = partition_key(table, day)
    with store.open(key, "wb") as handle:
        pq.write_table(arrow, handle, compression="zstd")
    return key


def read_partition(store: ObjectStore, table: str, day: str) -> pd.DataFrame:
    key = partition_key(table, day)
    if not store.exists(key):
        raise FileNotFoundError(f"table {table} has no partition {day} ({store.uri(key)})")
    with store.open(key) as handle:
        # Arrow-backed dtypes keep nullable ints as ints and nulls as nulls through pandas.
        return pq.read_table(handle).to_pandas(types_mapper=pd.ArrowDtype)


def rows_of(frame: pd.DataFrame) -> list[dict]:
    """Plain Python rows (None for nulls, int for ints) whatever the frame's dtypes."""
    return pa.Table.from_pandas(frame, preserve_index=False).to_pylist()


def table_glob(store: ObjectStore, table: str) -> str:
    return store.uri(f"{WAREHOUSE}/{table}") + "/**/*.parquet"
