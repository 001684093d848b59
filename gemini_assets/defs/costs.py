"""Step 6: model_outputs → call_ledger (one row per API attempt) → daily_costs."""


from datetime import date

import dagster as dg
import pandas as pd

from gemini_assets.core.costs.ledger import daily_costs as aggregate_costs
from gemini_assets.core.costs.ledger import ledger_rows
from gemini_assets.core.gateway.pricing import PriceBook
from gemini_assets.core.storage.contracts import CheckOutcome
from gemini_assets.core.storage.tables import rows_of
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.tables import check_specs, counts_md, emit, frame_for, preview

LEDGER_MATCHES_OUTPUTS = "ledger_matches_outputs"


@dg.asset(
    partitions_def=daily_partitions,
    group_name="costs",
    kinds={"parquet"},
    deps=["validated_records"],
    check_specs=check_specs("call_ledger", (LEDGER_MATCHES_OUTPUTS, "one ledger row per attempt recorded in model_outputs")),
    description="One row per API attempt, failed and retried ones included, with tokens and cost.",
)
def call_ledger(context: dg.AssetExecutionContext, model_outputs: pd.DataFrame, validated_media: pd.DataFrame):
    media = {row["media_id"]: row for row in rows_of(validated_media)}
    rows = ledger_rows(rows_of(model_outputs), media, PriceBook(), context.run.run_id)
    frame = frame_for("call_ledger", rows)
    expected = int(model_outputs["attempts"].sum()) if len(model_outputs) else 0
    matches = CheckOutcome(len(frame) == expected, [f"{len(frame)} ledger rows for {expected} attempts"], {"attempts": expected})
    cost = frame["cost_usd"].sum(min_count=1) if len(frame) else 0.0
    yield from emit(
        "call_ledger",
        frame,
        {
            "calls": len(frame),
            "by_status_code": counts_md(frame["status_code"]),
            "input_tokens": int(frame["input_tokens"].sum()) if len(frame) else 0,
            "output_tokens": int(frame["output_tokens"].sum()) if len(frame) else 0,
            "cost_usd": dg.MetadataValue.float(float(cost) if pd.notna(cost) else float("nan")),
            "unpriced_calls": int(frame["cost_usd"].isna().sum()) if len(frame) else 0,
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
    total = frame["cost_usd"].sum(min_count=1) if len(frame) else 0.0
    context.log.info("%s: %d calls, cost %s USD", context.partition_key, int(frame["calls"].sum()) if len(frame) else 0, total)
    yield from emit(
        "daily_costs",
        frame,
        {
            "cost_usd": dg.MetadataValue.float(float(total) if pd.notna(total) else float("nan")),
            "calls": int(frame["calls"].sum()) if len(frame) else 0,
            "items": int(frame["items"].sum()) if len(frame) else 0,
            "input_tokens": int(frame["input_tokens"].sum()) if len(frame) else 0,
            "output_tokens": int(frame["output_tokens"].sum()) if len(frame) else 0,
            "by_model": counts_md(frame["model"]),
            "preview": preview(frame, ["model", "task", "media_kind", "calls", "items", "cost_usd"]),
        },
    )
