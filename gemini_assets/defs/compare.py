"""Shadow A/B in Dagster: challenger_outputs (challengers answer their share) → model_comparison."""

import dagster as dg
import pandas as pd

from gemini_assets.core.contracts.tables import CallLedgerRow, DeliveryPlan, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.stages import compare, shadow
from gemini_assets.core.storage.tables import rows_from
from gemini_assets.defs.gemini import GEMINI_POOL, tag_backend
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import CatalogResource, GeminiResource, StorageResource
from gemini_assets.defs.tables import Emitted, check_specs, counts, emit, preview, usd

SHADOW_COVERAGE = "challenger_outputs_coverage"


@dg.asset(
    partitions_def=daily_partitions,
    group_name="gemini",
    kinds={"gemini", "parquet"},
    pool=GEMINI_POOL,
    deps=["model_outputs"],  # after the champion: its live handles and archive are reused
    check_specs=check_specs(
        "challenger_outputs", (SHADOW_COVERAGE, "one row per item x shadow challenger whose share holds the item")
    ),
    description="Shadow A/B: the routes' challengers answer their share too; compared, never used as records.",
)
def challenger_outputs(
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
        result = shadow.shadow_day(ctx, items, plans, access)
    rows = result.rows
    live = [r for r in rows if not r.from_cache]
    metadata = {
        "pairs": dg.MetadataValue.int(len(rows)),
        "by_challenger_status": counts(f"{r.model} / {r.status}" for r in rows),
        "api_attempts": sum(r.attempts for r in rows),
        "from_cache": len(rows) - len(live),
        "refused_by_budget": result.budget_refused,
        "remote_files_deleted": result.remote_files_deleted,
        "input_tokens": sum(r.input_tokens or 0 for r in live),
        "output_tokens": sum(r.output_tokens or 0 for r in live),
        "preview": preview(rows, ["media_id", "model", "status", "parse_status"]),
    }
    yield from emit("challenger_outputs", rows, metadata, [(SHADOW_COVERAGE, result.coverage)])


@dg.asset(
    partitions_def=daily_partitions,
    group_name="costs",
    kinds={"parquet"},
    check_specs=check_specs("model_comparison"),
    description="Shadow A/B per task x champion x challenger: valid and review rates, agreement, cost, latency.",
)
def model_comparison(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    catalog: CatalogResource,
    model_outputs: pd.DataFrame,
    challenger_outputs: pd.DataFrame,
    call_ledger: pd.DataFrame,
) -> Emitted:
    ctx = storage.day(context, catalog.pinned_versions)
    rows = compare.compare_day(
        rows_from(model_outputs, ModelOutputRow),
        rows_from(challenger_outputs, ModelOutputRow),
        rows_from(call_ledger, CallLedgerRow),
        ctx.catalog,
        ctx.text_filter,
    )
    for row in rows:
        context.log.info(
            f"{row.task}: {row.champion_model} vs {row.challenger_model}: {row.items_compared} compared, "
            f"{row.items_not_applicable} not applicable, agreement {row.field_agreement}"
        )
    metadata = {
        "pairs_compared": dg.MetadataValue.int(sum(r.items_compared for r in rows)),
        "not_applicable": dg.MetadataValue.int(sum(r.items_not_applicable for r in rows)),
        "challenger_cost_usd": usd(sum(r.challenger_cost_usd or 0.0 for r in rows) if rows else None),
        "preview": preview(
            rows, ["task", "challenger_model", "items_compared", "challenger_valid_rate", "field_agreement"]
        ),
    }
    yield from emit("model_comparison", rows, metadata)
