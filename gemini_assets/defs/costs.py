"""Step 6: model_outputs → call_ledger (one row per API attempt) → daily_costs; billing_reconciliation."""


from datetime import date

import dagster as dg
import pandas as pd

from gemini_assets.core.costs.billing import read_billing
from gemini_assets.core.costs.history import calls_on
from gemini_assets.core.costs.ledger import TOKEN_COLUMNS, ledger_rows, merge_ledger
from gemini_assets.core.costs.ledger import daily_costs as aggregate_costs
from gemini_assets.core.costs.reconcile import Tolerance, reconcile, verdict
from gemini_assets.core.gateway.pricing import PriceBook
from gemini_assets.core.storage.contracts import CheckOutcome
from gemini_assets.core.storage.tables import partition_key, read_partition, rows_of
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import StorageResource
from gemini_assets.defs.tables import check_specs, counts_md, emit, frame_for, preview

LEDGER_MATCHES_OUTPUTS = "ledger_matches_outputs"
BILLING_MATCHES_LEDGER = "billing_matches_ledger"


def _usd(value) -> dg.MetadataValue:
    # NaN, not 0, when a cost is unknown: the UI's plot shows a gap instead of a fake zero.
    return dg.MetadataValue.float(float(value) if value is not None and pd.notna(value) else float("nan"))


def _total(frame: pd.DataFrame, column: str):
    return frame[column].sum(min_count=1) if len(frame) else 0.0


def _token_metadata(frame: pd.DataFrame) -> dict[str, dg.MetadataValue]:
    return {name: dg.MetadataValue.int(int(frame[name].sum()) if len(frame) else 0) for name in TOKEN_COLUMNS}


@dg.asset(
    partitions_def=daily_partitions,
    group_name="costs",
    kinds={"parquet"},
    deps=["validated_records"],
    check_specs=check_specs("call_ledger", (LEDGER_MATCHES_OUTPUTS, "every attempt recorded in model_outputs has exactly one ledger row")),
    description="One row per API attempt, failed and retried ones included, with tokens and cost. Earlier runs' calls stay.",
)
def call_ledger(
    context: dg.AssetExecutionContext, storage: StorageResource, model_outputs: pd.DataFrame, validated_media: pd.DataFrame
):
    store = storage.store()
    media = {row["media_id"]: row for row in rows_of(validated_media)}
    current = ledger_rows(rows_of(model_outputs), media, PriceBook(), context.run.run_id)
    earlier_key = partition_key("call_ledger", context.partition_key)
    earlier = rows_of(read_partition(store, "call_ledger", context.partition_key)) if store.exists(earlier_key) else []
    frame = frame_for("call_ledger", merge_ledger(earlier, current))
    expected = int(model_outputs["attempts"].sum()) if len(model_outputs) else 0
    current_ids = {row["call_id"] for row in current}
    recorded = current_ids <= set(frame["call_id"])
    matches = CheckOutcome(
        len(current_ids) == expected and recorded,
        [f"{len(current_ids)} distinct ledger rows for {expected} attempts in model_outputs"],
        {"attempts": expected, "carried_over": len(frame) - len(current_ids)},
    )
    yield from emit(
        "call_ledger",
        frame,
        {
            "calls": dg.MetadataValue.int(len(frame)),
            "calls_this_run": dg.MetadataValue.int(len(current)),
            "failed_calls": dg.MetadataValue.int(int((frame["status_code"] != 200).sum()) if len(frame) else 0),
            "by_status_code": counts_md(frame["status_code"]),
            **_token_metadata(frame),
            "cost_usd": _usd(_total(frame, "cost_usd")),
            "unpriced_calls": dg.MetadataValue.int(int(frame["cost_usd"].isna().sum()) if len(frame) else 0),
            "preview": preview(frame, ["call_id", "model", "status_code", "input_tokens", "output_tokens", "cost_usd"]),
        },
        [(LEDGER_MATCHES_OUTPUTS, matches)],
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="costs",
    kinds={"parquet"},
    check_specs=check_specs("daily_costs"),
    description="The day's calls, items, tokens and cost per model x task x media kind.",
)
def daily_costs(context: dg.AssetExecutionContext, call_ledger: pd.DataFrame):
    frame = frame_for("daily_costs", rows_of(aggregate_costs(pd.DataFrame(rows_of(call_ledger)) if len(call_ledger) else pd.DataFrame())))
    total = _total(frame, "cost_usd")
    items = int(frame["items"].sum()) if len(frame) else 0
    context.log.info("%s: %d calls, cost %s USD", context.partition_key, int(frame["calls"].sum()) if len(frame) else 0, total)
    yield from emit(
        "daily_costs",
        frame,
        {
            "cost_usd": _usd(total),
            "cost_per_item_usd": _usd(total / items if items and pd.notna(total) else None),
            "calls": dg.MetadataValue.int(int(frame["calls"].sum()) if len(frame) else 0),
            "items": dg.MetadataValue.int(items),
            **_token_metadata(frame),
            "by_model": counts_md(frame["model"]),
            "preview": preview(frame, ["model", "task", "media_kind", "calls", "items", "cost_usd"]),
        },
    )


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
    description="The provider's billing export (billing/*.csv) against call_ledger, per usage day (UTC) and model.",
)
def billing_reconciliation(context: dg.AssetExecutionContext, config: ReconciliationConfig, storage: StorageResource):
    store, day = storage.store(), date.fromisoformat(context.partition_key)
    prices = PriceBook()
    billing = read_billing(store, prices.models())
    rows = reconcile(calls_on(store, day), billing, day, Tolerance(config.tolerance_pct, config.tolerance_abs_usd))
    frame = frame_for("billing_reconciliation", rows)
    result = verdict(rows, billing)
    if result.awaiting:
        context.log.info("no billing export rows for %s under billing/ yet: nothing to compare", day)
    outcome = CheckOutcome(
        result.passed,
        result.problems,
        {"models": len(rows), "billing_files": len(billing.files), "awaiting_billing": str(result.awaiting)},
    )
    yield from emit(
        "billing_reconciliation",
        frame,
        {
            "ledger_usd": _usd(_total(frame, "ledger_usd")),
            "billing_usd": _usd(_total(frame, "billing_usd")),
            "diff_usd": _usd(_total(frame, "diff_usd")),
            "by_status": counts_md(frame["status"]),
            "billing_problems": dg.MetadataValue.int(len(billing.problems)),
            "preview": preview(frame, ["model", "status", "ledger_usd", "billing_usd", "diff_pct"]),
        },
        [(BILLING_MATCHES_LEDGER, outcome)],
    )
