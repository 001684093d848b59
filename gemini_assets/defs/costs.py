"""Step 5 in Dagster: model_outputs → call_ledger → daily_costs; billing_reconciliation."""

import dagster as dg
import pandas as pd

from gemini_assets.core.contracts.calls import TOKEN_COLUMNS
from gemini_assets.core.contracts.tables import CallLedgerRow, DailyCostsRow, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.stages import account
from gemini_assets.core.storage.tables import rows_from
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import StorageResource
from gemini_assets.defs.tables import Emitted, check_specs, counts, emit, preview, usd

LEDGER_MATCHES_OUTPUTS = "ledger_matches_outputs"
BILLING_MATCHES_LEDGER = "billing_matches_ledger"


def _total(values: list[float | None]) -> float | None:
    """The sum of the known values; unknown when none is known (unpriced counts show beside it)."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _tokens(rows: list[CallLedgerRow] | list[DailyCostsRow]) -> dict[str, dg.MetadataValue]:
    return {name: dg.MetadataValue.int(sum(getattr(r, name) or 0 for r in rows)) for name in TOKEN_COLUMNS}


@dg.asset(
    partitions_def=daily_partitions,
    group_name="costs",
    kinds={"parquet"},
    deps=["validated_records"],
    check_specs=check_specs(
        "call_ledger",
        (
            LEDGER_MATCHES_OUTPUTS,
            "every attempt in model_outputs, challenger_outputs and golden_outputs has exactly one ledger row",
        ),
    ),
    description=(
        "One row per API attempt, failed and retried ones included, with tokens and cost. Earlier runs' calls stay."
    ),
)
def call_ledger(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    model_outputs: pd.DataFrame,
    challenger_outputs: pd.DataFrame,
    golden_outputs: pd.DataFrame,
    validated_media: pd.DataFrame,
) -> Emitted:
    ctx = storage.day(context)
    outputs, items = rows_from(model_outputs, ModelOutputRow), rows_from(validated_media, ValidatedMediaRow)
    outputs += rows_from(challenger_outputs, ModelOutputRow)  # shadow calls are booked like any other
    outputs += rows_from(golden_outputs, ModelOutputRow)  # and so are the golden set's
    result = account.ledger_day(ctx, outputs, items)
    rows = result.rows
    metadata = {
        "calls": dg.MetadataValue.int(len(rows)),
        "calls_this_run": dg.MetadataValue.int(result.this_run),
        "failed_calls": dg.MetadataValue.int(sum(r.status_code != 200 for r in rows)),
        "by_status_code": counts(r.status_code for r in rows),
        "by_backend": counts(r.backend for r in rows),
        **_tokens(rows),
        "cost_usd": usd(_total([r.cost_usd for r in rows])),
        "unpriced_calls": dg.MetadataValue.int(sum(r.cost_usd is None for r in rows)),
        "preview": preview(rows, ["call_id", "model", "status_code", "input_tokens", "output_tokens", "cost_usd"]),
    }
    yield from emit("call_ledger", rows, metadata, [(LEDGER_MATCHES_OUTPUTS, result.matches_outputs)])


@dg.asset(
    partitions_def=daily_partitions,
    group_name="costs",
    kinds={"parquet"},
    check_specs=check_specs("daily_costs"),
    description="The day's calls, items, tokens and cost per model x task x media kind.",
)
def daily_costs(context: dg.AssetExecutionContext, call_ledger: pd.DataFrame) -> Emitted:
    rows = account.costs_day(rows_from(call_ledger, CallLedgerRow))
    total, items = _total([r.cost_usd for r in rows]), sum(r.items for r in rows)
    calls = sum(r.calls for r in rows)
    context.log.info(f"{context.partition_key}: {calls} calls, cost {total} USD")
    metadata = {
        "cost_usd": usd(total),
        "cost_per_item_usd": usd(total / items if items and total is not None else None),
        "calls": dg.MetadataValue.int(calls),
        "items": dg.MetadataValue.int(items),
        **_tokens(rows),
        "by_model": counts(r.model for r in rows),
        "preview": preview(rows, ["model", "task", "media_kind", "calls", "items", "cost_usd"]),
    }
    yield from emit("daily_costs", rows, metadata)


class ReconciliationConfig(dg.Config):
    """Tolerances of the billing check (launchpad: ops.billing_reconciliation.config)."""

    tolerance_pct: float = 1.0
    tolerance_abs_usd: float = 0.01


@dg.asset(
    partitions_def=daily_partitions,
    group_name="costs",
    kinds={"parquet"},
    deps=["call_ledger"],
    check_specs=check_specs(
        "billing_reconciliation",
        (BILLING_MATCHES_LEDGER, "billing export and call_ledger agree per model within the tolerance (default 1%)"),
    ),
    description=(
        "Each provider's billing export (billing/*.csv: Cloud Billing, OpenAI, Anthropic, a gateway's CSV) "
        "against call_ledger, per usage day (UTC), provider and model."
    ),
)
def billing_reconciliation(
    context: dg.AssetExecutionContext, config: ReconciliationConfig, storage: StorageResource
) -> Emitted:
    tolerance = account.Tolerance(config.tolerance_pct, config.tolerance_abs_usd)
    result = account.reconcile_day(storage.day(context), tolerance)
    rows = result.rows
    metadata = {
        "ledger_usd": usd(_total([r.ledger_usd for r in rows])),
        "billing_usd": usd(_total([r.billing_usd for r in rows])),
        "diff_usd": usd(_total([r.diff_usd for r in rows])),
        "by_status": counts(r.status for r in rows),
        "by_provider": counts(r.provider for r in rows),
        "billing_problems": dg.MetadataValue.int(result.billing_problems),
        "preview": preview(rows, ["provider", "model", "status", "ledger_usd", "billing_usd", "diff_pct"]),
    }
    yield from emit("billing_reconciliation", rows, metadata, [(BILLING_MATCHES_LEDGER, result.check)])
