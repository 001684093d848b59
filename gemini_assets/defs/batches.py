"""gemini_batches in Dagster: the Batch API jobs behind a day's model_outputs (batch mode).

model_outputs writes one JSON record per batch under ``<storage root>/batches/<day>/`` the
moment the batch is submitted (core/stages/batch_records.py); this asset turns those records
into the partition's table, so the table exists even for a day whose batch is still running.
"""

import dagster as dg

from gemini_assets.core.contracts.errors import BatchWaitExceeded
from gemini_assets.core.stages.batch_records import batch_rows
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import GeminiResource, StorageResource
from gemini_assets.defs.tables import Emitted, check_specs, counts, emit, preview


def still_running(context: dg.AssetExecutionContext, gemini: GeminiResource, exc: BatchWaitExceeded) -> Exception:
    """The step ends, the batch stays submitted; a retry or a re-run resumes it (never resubmits)."""
    context.log.warning(str(exc))
    if gemini.batch_step_retries > 0:
        return dg.RetryRequested(max_retries=gemini.batch_step_retries, seconds_to_wait=gemini.batch_retry_wait_s)
    return dg.Failure(description=str(exc), metadata={"batch": exc.name, "state": exc.state})


@dg.asset(
    partitions_def=daily_partitions,
    group_name="gemini",
    kinds={"gemini", "parquet"},
    deps=["model_outputs"],
    check_specs=check_specs("gemini_batches"),
    description="Batch API jobs used for the day's items (mode: batch): state, lines, waits, resumes.",
)
def gemini_batches(context: dg.AssetExecutionContext, storage: StorageResource) -> Emitted:
    rows = batch_rows(storage.store(), context.partition_key)
    metadata = {
        "batches": dg.MetadataValue.int(len(rows)),
        "by_state": counts(r.state for r in rows),
        "items": dg.MetadataValue.int(sum(r.items for r in rows)),
        "failed_lines": dg.MetadataValue.int(sum(r.failed_lines for r in rows)),
        "preview": preview(rows, ["batch_name", "model", "items", "state", "wait_s"]),
    }
    yield from emit("gemini_batches", rows, metadata)
