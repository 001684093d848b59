"""Step 5: model_outputs → validated_records | review_queue (with people's decisions)."""

import dagster as dg
import pandas as pd

from gemini_assets.core.audit.events import item_events
from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.output.quality import quality_metrics
from gemini_assets.core.output.records import split_outputs
from gemini_assets.core.review.decisions import latest_decisions
from gemini_assets.core.storage.contracts import CheckOutcome, check_partition
from gemini_assets.core.storage.tables import rows_of
from gemini_assets.defs.catalog import CatalogResource
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import StorageResource
from gemini_assets.defs.tables import check_specs, counts_md, emit, frame_for, preview

OUTCOME_CONSERVATION = "outcome_conservation"
AUDIT_TRAIL = "audit_trail_verified"


@dg.multi_asset(
    partitions_def=daily_partitions,
    group_name="records",
    outs={
        "validated_records": dg.AssetOut(kinds={"parquet"}, description="Valid typed outputs."),
        "review_queue": dg.AssetOut(kinds={"parquet"}, description="Items a person must look at, with a reason."),
    },
    ins={"validated_media": dg.AssetIn("validated_media"), "model_outputs": dg.AssetIn("model_outputs")},
    check_specs=[
        *check_specs(
            "validated_records",
            (OUTCOME_CONSERVATION, "every validated_media row is in exactly one of validated_records / review_queue"),
            (AUDIT_TRAIL, "the day's audit log chain and signed checkpoints verify (no edit, gap or truncation)"),
        ),
        *check_specs("review_queue"),
    ],
)
def validated_records(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    catalog: CatalogResource,
    validated_media: pd.DataFrame,
    model_outputs: pd.DataFrame,
):
    catalog.activate()
    items, outputs = rows_of(validated_media), rows_of(model_outputs)
    decisions = latest_decisions(storage.store(), context.partition_key)
    records, review = split_outputs(items, {row["media_id"]: row for row in outputs}, decisions)
    valid, queue = frame_for("validated_records", records), frame_for("review_queue", review)
    conservation = check_partition(
        set(validated_media["media_id"]),
        {"validated_records": set(valid["media_id"]), "review_queue": set(queue["media_id"])},
        "validated_media",
    )
    audit = AuditLog(storage.store())
    audit.append(
        context.partition_key,
        item_events("output_validated", records, "task", "task_version", "model", "source", "flags")
        + item_events("queued_for_review", review, "task", "reason_code", "review_status"),
        run_id=context.run.run_id,
    )
    verified = audit.verify(context.partition_key)
    audit_outcome = CheckOutcome(verified.ok, verified.problems, {"events": verified.events, "checkpoints": verified.checkpoints})
    quality = quality_metrics(outputs, review, len(items))
    context.log.info("%d records, %d for review, %d decisions applied", len(valid), len(queue), len(decisions))
    yield from emit(
        "validated_records",
        valid,
        {
            "records": len(valid),
            "from_review": int((valid["source"] == "review").sum()) if len(valid) else 0,
            "mean_confidence": float(valid["confidence"].mean()) if len(valid) else 0.0,
            "by_task_version": counts_md(valid["task_version"]),
            **{name: dg.MetadataValue.float(float(v)) if isinstance(v, float) else v for name, v in quality.items()},
            "preview": preview(valid, ["media_id", "task_version", "confidence", "record_json"]),
        },
        [(OUTCOME_CONSERVATION, conservation), (AUDIT_TRAIL, audit_outcome)],
        multi=True,
    )
    yield from emit(
        "review_queue",
        queue,
        {
            "queued": len(queue),
            "pending": int((queue["review_status"] == "pending").sum()) if len(queue) else 0,
            "by_reason": counts_md(queue["reason_code"]),
            "preview": preview(queue, ["media_id", "reason_code", "review_status", "reason_detail"]),
        },
        multi=True,
    )
