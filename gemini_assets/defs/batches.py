"""gemini_batches: the Batch API jobs behind a day's model_outputs (batch mode).

model_outputs writes one JSON record per batch under ``<storage root>/batches/<day>/`` the
moment the batch is submitted (core/output/batch_state.py); this asset turns those records into
the partition's table, so the table exists even for a day whose batch is still running.
"""

from datetime import datetime

import dagster as dg

from gemini_assets.core.gateway.batch import BatchWaitExceeded
from gemini_assets.core.output.batch_state import day_records
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import GeminiResource, StorageResource
from gemini_assets.defs.tables import check_specs, counts_md, emit, frame_for, preview


def still_running(context: dg.AssetExecutionContext, gemini: GeminiResource, exc: BatchWaitExceeded) -> Exception:
    """The step ends, the batch stays submitted; a retry or a re-run resumes it (never resubmits)."""
    context.log.warning(str(exc))
    if gemini.batch_step_retries > 0:
        return dg.RetryRequested(max_retries=gemini.batch_step_retries, seconds_to_wait=gemini.batch_retry_wait_s)
    return dg.Failure(description=str(exc), metadata={"batch": exc.name, "state": exc.state})


def batch_rows(records: list[dict]) -> list[dict]:
    rows = []
    for r in records:
        submitted = datetime.fromisoformat(r["submitted_at"])
        completed = datetime.fromisoformat(r["completed_at"]) if r.get("completed_at") else None
        rows.append({
            "batch_name": r["batch_name"], "display_name": r["display_name"], "batch_key": r["batch_key"],
            "model": r["model"], "items": len(r["media_ids"]), "input_mode": r["input_mode"],
            "input_file": r.get("input_file"), "request_bytes": r.get("request_bytes"), "state": r["state"],
            "retired": "/retired/" in r["record_key"], "submitted_at": submitted, "completed_at": completed,
            "wait_s": (completed - submitted).total_seconds() if completed else None,
            "polls": r.get("polls", 0), "resumed": r.get("resumed", 0),
            "succeeded_lines": r.get("succeeded_lines", 0), "failed_lines": r.get("failed_lines", 0),
            "missing_lines": r.get("missing_lines", 0), "run_id": r.get("run_id"), "record_key": r["record_key"],
        })
    return rows


@dg.asset(
    partitions_def=daily_partitions,
    group_name="gemini",
    kinds={"gemini", "parquet"},
    deps=["model_outputs"],
    check_specs=check_specs("gemini_batches"),
    description="Batch API jobs used for the day's items (mode: batch): state, lines, waits, resumes.",
)
def gemini_batches(context: dg.AssetExecutionContext, storage: StorageResource):
    frame = frame_for("gemini_batches", batch_rows(day_records(storage.store(), context.partition_key)))
    yield from emit(
        "gemini_batches",
        frame,
        {
            "batches": dg.MetadataValue.int(len(frame)),
            "by_state": counts_md(frame["state"]),
            "items": dg.MetadataValue.int(int(frame["items"].sum()) if len(frame) else 0),
            "failed_lines": dg.MetadataValue.int(int(frame["failed_lines"].sum()) if len(frame) else 0),
            "preview": preview(frame, ["batch_name", "model", "items", "state", "wait_s"]),
        },
    )

