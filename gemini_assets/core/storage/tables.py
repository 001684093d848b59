"""Hive-partitioned Parquet tables: ``warehouse/<table>/date=<YYYY-MM-DD>/part-0.parquet``.

The layout is the analyst contract: ``duckdb.read_parquet('<root>/warehouse/<table>/**/*.parquet',
hive_partitioning=true)`` reads every table, with ``date`` coming from the folder name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gemini_assets.core.contracts.schema import Row, TableSpec
from gemini_assets.core.contracts.tables import TABLES
from gemini_assets.core.storage.objectstore import ObjectStore

RowT = TypeVar("RowT", bound=Row)

WAREHOUSE = "warehouse"
# Replaced partitions are kept here, outside the table globs analysts read, for rollback.
HISTORY = "warehouse_history"


def partition_prefix(table: str, day: str) -> str:
    return f"{WAREHOUSE}/{table}/date={day}"


def partition_key(table: str, day: str) -> str:
    return f"{partition_prefix(table, day)}/part-0.parquet"


def _pandas(arrow: pa.Table) -> pd.DataFrame:
    # Arrow-backed dtypes keep nullable ints as ints and nulls as nulls through pandas.
    frame: pd.DataFrame = arrow.to_pandas(types_mapper=pd.ArrowDtype)
    return frame


def empty_frame(spec: TableSpec) -> pd.DataFrame:
    return _pandas(spec.arrow_schema.empty_table())


def frame_of(table: str, rows: Sequence[Row]) -> pd.DataFrame:
    """A table's typed rows as a frame with the declared Arrow types (what the IO manager writes)."""
    spec = TABLES[table]
    return _pandas(pa.Table.from_pylist([row.model_dump() for row in rows], schema=spec.arrow_schema))


def rows_from(frame: pd.DataFrame, model: type[RowT]) -> list[RowT]:
    """Typed rows of a frame; columns the model does not know (none today) are ignored and
    columns added since the partition was written take their defaults."""
    known = set(model.model_fields)
    return [model.model_validate({k: v for k, v in row.items() if k in known}) for row in rows_of(frame)]


def to_arrow(spec: TableSpec, frame: pd.DataFrame) -> pa.Table:
    """Cast a frame to the table's declared schema (column order and types)."""
    missing = [c for c in spec.column_names if c not in frame.columns]
    if missing:
        raise ValueError(f"{spec.name}: missing columns {missing}")
    return pa.Table.from_pandas(frame[spec.column_names], schema=spec.arrow_schema, preserve_index=False)


def history_prefix(table: str, day: str) -> str:
    return f"{HISTORY}/{table}/date={day}"


def write_partition(store: ObjectStore, table: str, day: str, frame: pd.DataFrame) -> str:
    """Replace one day of a table, keeping the replaced version in the history; returns the key."""
    arrow = to_arrow(TABLES[table], frame)
    current = partition_key(table, day)
    if store.exists(current):
        version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        store.copy_stream(current, f"{history_prefix(table, day)}/{version}.parquet")
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
        return _pandas(pq.read_table(handle))


def partition_rows(store: ObjectStore, table: str, day: str) -> int:
    """How many rows the day's current partition holds (0 when there is none), from the footer only."""
    key = partition_key(table, day)
    if not store.exists(key):
        return 0
    with store.open(key) as handle:
        return int(pq.ParquetFile(handle).metadata.num_rows)


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain Python rows (None for nulls, int for ints) whatever the frame's dtypes."""
    rows: list[dict[str, Any]] = pa.Table.from_pandas(frame, preserve_index=False).to_pylist()
    return rows


def partition_versions(store: ObjectStore, table: str, day: str) -> list[str]:
    """Archived versions of one partition, oldest first (ids are replacement times, UTC)."""
    return [obj.key.rsplit("/", 1)[1].removesuffix(".parquet") for obj in store.walk_files(history_prefix(table, day))]


def restore_partition(store: ObjectStore, table: str, day: str, version: str | None = None) -> str:
    """Make an archived version current again (the version it replaces is archived in turn)."""
    versions = partition_versions(store, table, day)
    if not versions:
        raise FileNotFoundError(f"{table} {day} has no earlier version")
    chosen = version or versions[-1]
    if chosen not in versions:
        raise FileNotFoundError(f"{table} {day} has no version {chosen}; known: {versions}")
    with store.open(f"{history_prefix(table, day)}/{chosen}.parquet") as handle:
        frame = _pandas(pq.read_table(handle))
    write_partition(store, table, day, frame)
    return chosen


def table_glob(store: ObjectStore, table: str) -> str:
    return store.uri(f"{WAREHOUSE}/{table}") + "/**/*.parquet"
