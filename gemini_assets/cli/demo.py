"""The demo: one day through the daily_pipeline job, then a summary read back with DuckDB."""

from __future__ import annotations

import click
import dagster as dg
import duckdb

from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.schemas import TABLES
from gemini_assets.core.storage.tables import table_glob


def run_day(day: str) -> bool:
    from gemini_assets.definitions import defs

    instance = dg.DagsterInstance.get() if _has_home() else dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("daily_pipeline").execute_in_process(
        partition_key=day, instance=instance, raise_on_error=False
    )
    for event in result.all_events:
        if event.is_failure and event.event_specific_data is not None:
            click.echo(f"  failed: {event.step_key}: {getattr(event.event_specific_data, 'error', '')}")
    return result.success


def _has_home() -> bool:
    import os

    return bool(os.environ.get("DAGSTER_HOME"))


def duckdb_connection(store: ObjectStore) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    if not store.is_local:
        connection.register_filesystem(store.fs)
    return connection


def print_summary(day: str) -> None:
    store = ObjectStore()
    con = duckdb_connection(store)

    def query(sql: str):
        return con.execute(sql).fetchall()

    def source(table: str) -> str:
        return f"read_parquet('{table_glob(store, table)}', hive_partitioning=true) WHERE date = DATE '{day}'"

    click.echo(f"\n== {day} ==")
    for table in TABLES:
        try:
            (rows,) = query(f"SELECT count(*) FROM {source(table)}")[0]
        except duckdb.Error:
            rows = "-"
        click.echo(f"  {table:<18} {rows:>6} rows")
    for table, column in (("quarantined_media", "reason_code"), ("review_queue", "reason_code")):
        try:
            counts = query(f"SELECT {column}, count(*) FROM {source(table)} GROUP BY 1 ORDER BY 2 DESC")
        except duckdb.Error:
            continue
        if counts:
            click.echo(f"  {table} by {column}: " + ", ".join(f"{k}={v}" for k, v in counts))
    try:
        for model, calls, tokens_in, tokens_out, cost in query(
            f"SELECT model, sum(calls), sum(input_tokens), sum(output_tokens), sum(cost_usd) FROM {source('daily_costs')} GROUP BY 1"
        ):
            cost_text = f"${cost:.4f}" if cost is not None else "unpriced"
            click.echo(f"  cost {model}: {calls} calls, {tokens_in} in / {tokens_out} out tokens, {cost_text}")
        by_task = query(
            f"SELECT task, count(*), any_value(record_json) FROM {source('validated_records')} GROUP BY 1 ORDER BY 1"
        )
        for task, count, record in by_task:
            click.echo(f"  {task}: {count} records, e.g. {record[:130]}")
    except duckdb.Error:
        pass
    click.echo(
        "\nTry:\n  .venv/bin/python -c \"import duckdb; print(duckdb.sql(\\\"SELECT date, model, sum(cost_usd) AS usd, "
        f"sum(input_tokens) AS tokens_in FROM read_parquet('{table_glob(store, 'call_ledger')}', hive_partitioning=true) "
        "GROUP BY ALL ORDER BY ALL\\\"))\""
    )
