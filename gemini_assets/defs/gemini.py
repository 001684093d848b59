"""Steps 2 and 3 in Dagster: validated_media → gemini_files (delivery plans) → model_outputs."""

import dagster as dg
import pandas as pd

from gemini_assets.core.contracts.errors import BatchWaitExceeded
from gemini_assets.core.contracts.tables import DeliveryPlan, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.stages import answer, deliver
from gemini_assets.core.stages.models import ModelAccess
from gemini_assets.core.storage.tables import rows_from
from gemini_assets.defs.batches import still_running
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.reaper import tag_run_worker
from gemini_assets.defs.resources import CatalogResource, GeminiResource, StorageResource
from gemini_assets.defs.tables import Emitted, check_specs, counts, emit, preview

GEMINI_POOL = "gemini_api"
BACKEND_TAG = "gemini_assets/backend"


def tag_backend(context: dg.AssetExecutionContext, access: ModelAccess) -> None:
    """The run page says which backend answered (also a column of model_outputs and call_ledger),
    and the dead-run reaper knows which process holds this run's pool slot (defs/reaper.py)."""
    tag_run_worker(context)
    context.log.info(f"model backend: {access.backend} (provider {access.provider})")
    context.instance.add_run_tags(context.run.run_id, {BACKEND_TAG: str(access.backend)})


@dg.asset(
    partitions_def=daily_partitions,
    group_name="gemini",
    kinds={"gemini", "parquet"},
    pool=GEMINI_POOL,
    check_specs=check_specs("gemini_files", ("gemini_files_coverage", "one delivery decision per accepted item")),
    description="How each accepted item reaches the model: inline, Files API handle, or cached answer.",
)
def gemini_files(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    gemini: GeminiResource,
    catalog: CatalogResource,
    validated_media: pd.DataFrame,
) -> Emitted:
    ctx = storage.day(context, catalog.pinned_versions)
    with gemini.open(ctx.settings) as access:  # fails fast without a configured backend: nothing written
        tag_backend(context, access)
        result = deliver.plan_day(ctx, rows_from(validated_media, ValidatedMediaRow), access)
        backend = str(access.backend)
    plans = result.plans
    metadata = {
        "backend": backend,
        "by_delivery": counts(p.delivery for p in plans),
        "by_model_variant": counts(f"{p.model} / {p.variant} / {p.mode}" for p in plans),
        "uploaded_bytes": sum(p.upload_bytes or 0 for p in plans),
        # bytes on the wire per file byte: above 1 when the network cut uploads and they resumed
        "upload_bytes_sent": sum(p.upload_bytes_sent or 0 for p in plans),
        "upload_resumes": sum(p.upload_resumes or 0 for p in plans),
        "sanitized_copies_purged": len(result.purged),
        # e.g. an MPO photo sent as its primary image only: the appended images were dropped
        "stripped_beyond_metadata": sum(1 for p in plans if p.sanitize_notes),
        "preview": preview(plans, ["media_id", "delivery", "remote_name", "decision_reason"]),
    }
    yield from emit("gemini_files", plans, metadata, [("gemini_files_coverage", result.coverage)])


@dg.asset(
    partitions_def=daily_partitions,
    group_name="gemini",
    kinds={"gemini", "parquet"},
    pool=GEMINI_POOL,
    check_specs=check_specs("model_outputs", ("model_outputs_coverage", "one output row per accepted item")),
    description="One row per item: the model's final answer, usage, attempts and status.",
)
def model_outputs(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    gemini: GeminiResource,
    catalog: CatalogResource,
    validated_media: pd.DataFrame,
    gemini_files: pd.DataFrame,
) -> Emitted:
    ctx = storage.day(context, catalog.pinned_versions)
    items, plans = rows_from(validated_media, ValidatedMediaRow), rows_from(gemini_files, DeliveryPlan)
    with gemini.open(ctx.settings) as access:
        tag_backend(context, access)
        try:  # online and/or batch per plan (docs/gateway.md: batch mode)
            result = answer.answer_day(ctx, items, plans, access)
        except BatchWaitExceeded as exc:
            raise still_running(context, gemini, exc) from exc
    if result.breakers_opened:
        context.log.warning(f"circuit breaker opened (model: times): {result.breakers_opened}")
    if result.learned_limits:  # the server's quota is below routes.yaml's: say so, and lower it there
        context.log.warning(f"quota learned from 429s, below the routing file's: {result.learned_limits}")
    metadata = outputs_metadata(result.rows, result)
    yield from emit("model_outputs", result.rows, metadata, [("model_outputs_coverage", result.coverage)])


def outputs_metadata(rows: list[ModelOutputRow], result: answer.AnswerResult) -> dict[str, object]:
    live = [r for r in rows if not r.from_cache]
    return {
        "backend": ", ".join(sorted({str(r.backend) for r in rows})) or "none",
        "by_status": counts(r.status for r in rows),
        "by_parse_status": counts(r.parse_status for r in rows),
        "api_attempts": sum(r.attempts for r in rows),
        "from_cache": len(rows) - len(live),
        "remote_files_deleted": result.remote_files_deleted,
        "batches": ", ".join(f"{b.batch_name} ({b.state})" for b in result.batches) or "none",
        "breaker_opened": str(result.breakers_opened or "never"),
        "learned_limits": str(result.learned_limits or "none"),
        "input_tokens": sum(r.input_tokens or 0 for r in live),
        "output_tokens": sum(r.output_tokens or 0 for r in live),
        # Never raw_text: the answer before the output filters, PII and all (docs/access.md).
        "preview": preview(rows, ["media_id", "model", "status", "parse_status"]),
    }
