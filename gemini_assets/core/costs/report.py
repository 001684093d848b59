"""Daily cost by model over a date range, from daily_costs (the `gemini-assets costs report` data)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import partition_key, read_partition

MAX_DAYS = 3660
REPORT_COLUMNS = [
    "date",
    "model",
    "calls",
    "failed_calls",
    "items",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "cost_per_item_usd",
]


def cost_report(store: ObjectStore, start: date, end: date) -> pd.DataFrame:
    """One row per day x model from daily_costs; days without a partition are simply absent."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days per report")
    frames = []
    day = start
    while day <= end:
        if store.exists(partition_key("daily_costs", day.isoformat())):
            frames.append(read_partition(store, "daily_costs", day.isoformat()).assign(date=day))
        day += timedelta(days=1)
    if not frames:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    costs = pd.concat([f.astype({"cost_usd": "float64"}) for f in frames], ignore_index=True)
    grouped = costs.groupby(["date", "model"])
    report = grouped[["calls", "failed_calls", "items", "input_tokens", "output_tokens"]].sum().astype("int64")
    # Any unpriced group keeps the day's cost unknown (NaN), never a partial sum presented as whole.
    report["cost_usd"] = (
        grouped["cost_usd"].sum(min_count=1).where(~grouped["cost_usd"].apply(lambda s: s.isna().any()))
    )
    report["cost_per_item_usd"] = report["cost_usd"] / report["items"]
    return report.reset_index()[REPORT_COLUMNS]
