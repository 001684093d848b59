"""Run one day of daily_pipeline in-process for the demo: a line per table, Dagster's log to a file."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import click
import dagster as dg
import duckdb

from gemini_assets.core.contracts.tables import CanaryReleaseRow, ModelComparisonRow, TaskQualityRow
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import RowT, partition_key, read_partition, rows_from, table_glob

_DAY_OF = "FROM read_parquet(?, hive_partitioning = true) WHERE date = CAST(? AS DATE)"
REASONS = "SELECT reason_code, count(*) " + _DAY_OF + " GROUP BY 1 ORDER BY 2 DESC"
RECORDS = "SELECT task, count(*), any_value(record_json) " + _DAY_OF + " GROUP BY 1 ORDER BY 1"
COSTS = (
    "SELECT model, any_value(backend), count(*), sum(input_tokens), sum(output_tokens), sum(cost_usd) "
    + _DAY_OF
    + " GROUP BY 1"
)


UPLOAD_PROGRESS = "upload progress "  # UploadProgress.describe() lines


def log_path(dagster_home: Path | None, day: str) -> Path:
    folder = (dagster_home or Path.cwd() / ".dagster_home") / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"demo-{day}-{time.strftime('%Y%m%dT%H%M%S')}.log"


class StageLines(logging.Handler):
    """One line per materialized table or failed step, as Dagster reports them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)  # Dagster logs its events at DEBUG
        self.started = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)  # the DagsterEvent Dagster hands its loggers
        if event is None:
            # A large upload's progress (core/gateway/gemini/resumable.py): at most every 10 s.
            message = (getattr(record, "dagster_meta", None) or {}).get("orig_message", "")
            if isinstance(message, str) and message.startswith(UPLOAD_PROGRESS):
                click.echo(f"  {time.monotonic() - self.started:6.1f} s    {message}")
            return
        elapsed = f"{time.monotonic() - self.started:6.1f} s"
        if event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            rows = materialization.metadata.get("rows")
            count = rows.value if rows is not None else "?"
            click.echo(f"  {elapsed}  ✓ {materialization.asset_key.to_user_string():<24} {count:>6} rows")
        elif event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            message = error.message.strip().splitlines()[-1] if error is not None else "failed"
            click.echo(f"  {elapsed}  ✗ {event.step_key}: {message}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            click.echo(f"  {elapsed}  ✗ check {event.event_specific_data.check_name} failed")


def _demo_logger(path: Path) -> dg.LoggerDefinition:
    @dg.logger(config_schema={}, description="demo: a line per table on the terminal, Dagster's debug log in a file")
    def demo_logger(_init_context: Any) -> logging.Logger:
        logger = logging.Logger("gemini_assets.demo", level=logging.DEBUG)
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.addHandler(StageLines())
        return logger

    return demo_logger


def run_day(day: str, log_file: Path, persistent: bool) -> bool:
    from gemini_assets.definitions import defs

    job = defs.resolve_job_def("daily_pipeline").with_logger_defs({"demo": _demo_logger(log_file)})
    instance = dg.DagsterInstance.get() if persistent else dg.DagsterInstance.ephemeral()
    # Only the loggers named in run config run: the demo's replaces Dagster's console logger.
    run_config: dict[str, object] = {"loggers": {"demo": {}}}
    result = job.execute_in_process(run_config, instance=instance, partition_key=day, raise_on_error=False)
    return result.success


def duckdb_connection(store: ObjectStore) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    if not store.is_local:
        connection.register_filesystem(store.fs)
    return connection


def print_summary(store: ObjectStore, day: str) -> None:
    con = duckdb_connection(store)

    def query(sql: str, table: str) -> list[Any]:
        return con.execute(sql, [table_glob(store, table), day]).fetchall()

    click.echo(f"\n== {day} ==")
    for table in ("quarantined_media", "review_queue"):
        try:
            found = query(REASONS, table)
        except duckdb.Error:
            continue
        if found:
            click.echo(f"  {table} by reason: " + ", ".join(f"{k}={v}" for k, v in found))
    try:
        for task, count, record in query(RECORDS, "validated_records"):
            click.echo(f"  {task}: {count} records, e.g. {record[:110]}")
        total = 0.0
        for model, backend, calls, tokens_in, tokens_out, cost in query(COSTS, "call_ledger"):
            total += cost or 0.0
            cost_text = f"${cost:.4f}" if cost is not None else "unpriced"
            click.echo(
                f"  cost {model} ({backend}): {calls} calls, {tokens_in} in / {tokens_out} out tokens, {cost_text}"
            )
        click.echo(f"  cost of the day: ${total:.4f}")
    except duckdb.Error:
        pass
    glob = table_glob(store, "call_ledger")
    example = f"SELECT date, model, sum(cost_usd) AS usd FROM read_parquet('{glob}', "  # noqa: S608 - printed
    example += "hive_partitioning=true) GROUP BY ALL ORDER BY ALL"  # shown to the user, never executed here
    click.echo(f'\nQuery it yourself:\n  .venv/bin/python -c "import duckdb; print(duckdb.sql(\\"{example}\\"))"')


def _day_rows(store: ObjectStore, table: str, day: str, row_type: type[RowT]) -> list[RowT] | None:
    """The table's rows of the day, or None (said on the terminal) when the run never wrote it."""
    if not store.exists(partition_key(table, day)):
        click.echo(f"  {table}: no partition (did the run fail before it?)")
        return None
    return rows_from(read_partition(store, table, day), row_type)


def print_comparison(store: ObjectStore, day: str) -> None:
    """The shadow A/B lines of the day (model_comparison) and the command that charts them."""
    for row in _day_rows(store, "model_comparison", day, ModelComparisonRow) or []:
        agreement = "-" if row.field_agreement is None else f"{row.field_agreement:.2f}"
        click.echo(
            f"  A/B {row.task}: {row.challenger_model} vs {row.champion_model}: {row.items_compared} compared, "
            f"{row.items_not_applicable} not applicable, agreement {agreement}"
        )
    click.echo(f"  chart and table: .venv/bin/gemini-assets compare --from {day} --to {day}")


def print_quality(store: ObjectStore, day: str) -> None:
    """How right the day's answers were on the golden sets (task_quality) and where to read more."""
    for row in _day_rows(store, "task_quality", day, TaskQualityRow) or []:
        accuracy = "-" if row.golden_accuracy is None else f"{row.golden_accuracy:.2f}"
        ece = "-" if row.ece is None else f"{row.ece:.2f}"
        click.echo(
            f"  quality {row.task} {row.task_version} / {row.model}: golden accuracy {accuracy} "
            f"on {row.golden_items}, ECE {ece}, threshold {row.recommended_threshold or '-'}"
        )
    click.echo(f"  chart and table: .venv/bin/gemini-assets quality --from {day} --to {day} (docs/quality.md)")


def print_canaries(store: ObjectStore, day: str) -> None:
    """The canary gate's verdicts of the day (canary_releases) and where the decision now stands."""
    rows = _day_rows(store, "canary_releases", day, CanaryReleaseRow)
    if rows is None:
        return
    for row in rows:
        click.echo(f"  canary {row.task} {row.candidate} on {row.share:.0%}: {row.decision} ({row.reasons})")
    if not rows:
        click.echo("  canary: none running (decided earlier: `gemini-assets release status`)")
    click.echo("  by hand: .venv/bin/gemini-assets release status | promote TASK | rollback TASK (docs/quality.md)")
