"""Quality in Dagster: golden_outputs (the day's versions and models answer the golden sets) → task_quality."""

import dagster as dg
import pandas as pd

from gemini_assets.core.contracts.tables import CallLedgerRow, ModelOutputRow, ReviewQueueRow, TaskQualityRow
from gemini_assets.core.stages import quality
from gemini_assets.core.storage.tables import rows_from
from gemini_assets.defs.gemini import GEMINI_POOL, tag_backend
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import CatalogResource, GeminiResource, StorageResource
from gemini_assets.defs.tables import Emitted, check_specs, counts, emit, preview

GOLDEN_COVERAGE = "golden_outputs_coverage"


@dg.asset(
    partitions_def=daily_partitions,
    group_name="gemini",
    kinds={"gemini", "parquet"},
    pool=GEMINI_POOL,
    check_specs=check_specs(
        "golden_outputs", (GOLDEN_COVERAGE, "one row per golden item x model that answered its task today")
    ),
    description="Each task's golden set answered by the day's task versions and models (archived answers reused).",
)
def golden_outputs(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    gemini: GeminiResource,
    catalog: CatalogResource,
    model_outputs: pd.DataFrame,
) -> Emitted:
    ctx = storage.day(context, catalog.pinned_versions)
    with gemini.open(ctx.settings) as access:
        tag_backend(context, access)
        result = quality.golden_day(ctx, rows_from(model_outputs, ModelOutputRow), access)
    for why in result.skipped:
        context.log.warning(f"not measured on the golden set: {why}")
    rows = result.rows
    metadata = {
        "by_model_status": counts(f"{r.task} / {r.model} / {r.status}" for r in rows),
        "api_attempts": sum(r.attempts for r in rows),
        "from_cache": sum(r.from_cache for r in rows),
        "remote_files_deleted": result.remote_files_deleted,
        "preview": preview(rows, ["media_id", "task", "model", "status", "parse_status"]),
    }
    yield from emit("golden_outputs", rows, metadata, [(GOLDEN_COVERAGE, result.coverage)])


@dg.asset(
    partitions_def=daily_partitions,
    group_name="costs",
    kinds={"parquet"},
    check_specs=check_specs("task_quality"),
    description="Per task x version x model: golden accuracy, calibration, threshold, review, cost, latency.",
)
def task_quality(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    catalog: CatalogResource,
    model_outputs: pd.DataFrame,
    golden_outputs: pd.DataFrame,
    review_queue: pd.DataFrame,
    call_ledger: pd.DataFrame,
) -> Emitted:
    ctx = storage.day(context, catalog.pinned_versions)
    outputs, golden = rows_from(model_outputs, ModelOutputRow), rows_from(golden_outputs, ModelOutputRow)
    review, ledger = rows_from(review_queue, ReviewQueueRow), rows_from(call_ledger, CallLedgerRow)
    rows = quality.measure_day(ctx, outputs, golden, review, ledger)
    for row in rows:
        context.log.info(
            f"{row.task} {row.task_version} / {row.model}: {row.items} items, golden accuracy "
            f"{_figure(row.golden_accuracy)} on {row.golden_items}, ECE {_figure(row.ece)}"
        )
    metadata = {
        "accuracy": accuracy_table(rows),
        "golden_items": dg.MetadataValue.int(sum(r.golden_items for r in rows)),
        **figures(rows),
        "preview": preview(rows, ["task", "task_version", "model", "golden_accuracy", "ece"]),
    }
    yield from emit("task_quality", rows, metadata)


def accuracy_table(rows: list[TaskQualityRow]) -> dg.MetadataValue:
    """The day at a glance in the UI: one line per task version and model."""
    lines = ["| task | version | model | items | valid | golden | accuracy | ECE | threshold |", "|---" * 9 + "|"]
    for r in rows:
        cells = [r.task, r.task_version, r.model, r.items, _figure(r.valid_output_rate), r.golden_items]
        cells += [_figure(r.golden_accuracy), _figure(r.ece), _figure(r.recommended_threshold)]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return dg.MetadataValue.md("\n".join(lines) if rows else "_no items today_")


def figures(rows: list[TaskQualityRow]) -> dict[str, dg.MetadataValue]:
    """Accuracy and ECE per task version and model as numbers, so the UI plots them day by day."""
    found: dict[str, dg.MetadataValue] = {}
    for r in rows:
        name = f"{r.task} {r.task_version} {r.model}"
        found[f"accuracy: {name}"] = _number(r.golden_accuracy)
        found[f"ece: {name}"] = _number(r.ece)
    return found


def _number(value: float | None) -> dg.MetadataValue:
    # NaN, not 0, when nothing was measured: the UI's plot shows a gap instead of a perfect score.
    return dg.MetadataValue.float(float(value) if value is not None else float("nan"))


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
