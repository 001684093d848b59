"""The canary gate in Dagster: canary_releases judges each running canary on the day's task_quality."""

import dagster as dg
import pandas as pd

from gemini_assets.core.contracts.tables import CanaryReleaseRow, ModelOutputRow, TaskQualityRow
from gemini_assets.core.stages import releases
from gemini_assets.core.storage.tables import rows_from
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import CatalogResource, StorageResource
from gemini_assets.defs.tables import Emitted, check_specs, counts, emit, preview

# Run tags the UI shows on the run's page and filters runs by: which release a run decided.
TAG_PREFIX = "gemini_assets/canary."


@dg.asset(
    partitions_def=daily_partitions,
    group_name="costs",
    kinds={"parquet"},
    check_specs=check_specs("canary_releases"),
    description="Each running canary against its thresholds (release plan): promoted, rolled back or continuing.",
)
def canary_releases(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    catalog: CatalogResource,
    task_quality: pd.DataFrame,
    golden_outputs: pd.DataFrame,
) -> Emitted:
    ctx = storage.day(context, catalog.pinned_versions)
    quality, golden = rows_from(task_quality, TaskQualityRow), rows_from(golden_outputs, ModelOutputRow)
    rows = releases.gate_day(ctx, quality, golden)
    decided = {f"{TAG_PREFIX}{r.task}": decision_tag(r) for r in rows if r.decision != releases.CONTINUE}
    if decided:
        context.instance.add_run_tags(context.run_id, decided)
    for row in rows:
        log = context.log.warning if row.decision == "rolled_back" else context.log.info
        log(f"{row.task}: {row.candidate} {row.decision}: {row.reasons}")
    metadata = {
        "decisions": counts(r.decision for r in rows),
        "rolled_back": ", ".join(r.task for r in rows if r.decision == "rolled_back") or "-",
        "promoted": ", ".join(r.task for r in rows if r.decision == "promoted") or "-",
        "preview": preview(rows, ["task", "candidate", "decision", "golden_accuracy", "reasons"]),
    }
    yield from emit("canary_releases", rows, metadata)


def decision_tag(row: CanaryReleaseRow) -> str:
    """`rolled_back version 1.1.0, pinned 1.0.0`: short enough for a run tag."""
    return f"{row.decision} {row.candidate}, pinned {row.pinned_version}"[:200]
