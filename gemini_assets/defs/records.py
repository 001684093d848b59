"""Step 4 in Dagster: model_outputs → validated_records | review_queue (with people's decisions)."""

import dagster as dg
import pandas as pd

from gemini_assets.core.contracts.enums import RecordSource, ReviewStatus
from gemini_assets.core.contracts.tables import ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.stages import validate
from gemini_assets.core.storage.tables import rows_from
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import CatalogResource, StorageResource
from gemini_assets.defs.tables import Emitted, check_specs, counts, emit, preview

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
) -> Emitted:
    ctx = storage.day(context, catalog.pinned_versions)
    items, outputs = rows_from(validated_media, ValidatedMediaRow), rows_from(model_outputs, ModelOutputRow)
    result = validate.validate_outputs(ctx, items, outputs)
    records, queue = result.records, result.review
    confidences = [r.confidence for r in records if r.confidence is not None]
    records_meta = {
        "records": len(records),
        "from_review": sum(r.source == RecordSource.REVIEW for r in records),
        "mean_confidence": sum(confidences) / len(confidences) if confidences else 0.0,
        "by_task_version": counts(r.task_version for r in records),
        **result.quality,
        "preview": preview(records, ["media_id", "task_version", "confidence", "record_json"]),
    }
    queue_meta = {
        "queued": len(queue),
        "pending": sum(r.review_status == ReviewStatus.PENDING for r in queue),
        "by_reason": counts(r.reason_code for r in queue),
        "preview": preview(queue, ["media_id", "reason_code", "review_status", "reason_detail"]),
    }
    checks = [(OUTCOME_CONSERVATION, result.conservation), (AUDIT_TRAIL, result.audit)]
    yield from emit("validated_records", records, records_meta, checks, multi=True)
    yield from emit("review_queue", queue, queue_meta, multi=True)
