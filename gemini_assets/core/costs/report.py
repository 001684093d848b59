"""`gemini-assets costs report`: daily_costs over a date range as a table and a PNG chart."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display
import matplotlib.pyplot as plt  # noqa: E402 - must follow the backend choice
import pandas as pd  # noqa: E402
from tabulate import tabulate  # noqa: E402

from gemini_assets.core.storage.objectstore import ObjectStore  # noqa: E402
from gemini_assets.core.storage.tables import partition_key, read_partition  # noqa: E402

MAX_DAYS = 3660
REPORT_COLUMNS = ["date", "model", "calls", "failed_calls", "items", "input_tokens", "output_tokens", "cost_usd", "cost_per_item_usd"]


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
    report["cost_usd"] = grouped["cost_usd"].sum(min_count=1).where(~grouped["cost_usd"].apply(lambda s: s.isna().any()))
    report["cost_per_item_usd"] = report["cost_usd"] / report["items"]
    return report.reset_index()[REPORT_COLUMNS]


def format_table(report: pd.DataFrame) -> str:
    if report.empty:
        return "no daily_costs partitions in this range"
    shown = report.copy()
    for column in ("cost_usd", "cost_per_item_usd"):
        shown[column] = shown[column].map(lambda v: "unpriced" if pd.isna(v) else f"{v:.6f}")
    total = report["cost_usd"].sum(min_count=1)
    footer = f"\ntotal: {int(report['calls'].sum())} calls, " + ("cost unknown (unpriced calls)" if report["cost_usd"].isna().any() else f"{total:.6f} USD")
    return tabulate(shown, headers="keys", tablefmt="github", showindex=False) + footer


def write_chart(report: pd.DataFrame, path: Path, title: str) -> Path:
    """Stacked bars: USD per day, one colour per model."""
    pivot = report.pivot_table(index="date", columns="model", values="cost_usd", aggfunc="sum", fill_value=0.0) if len(report) else pd.DataFrame()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(pivot) + 3), 4))
    try:
        if len(pivot):
            pivot.index = [d.isoformat() for d in pivot.index]
            pivot.plot(kind="bar", stacked=True, ax=ax)
            ax.legend(title="model", fontsize="small")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title)
        ax.set_xlabel("day (partition)")
        ax.set_ylabel("cost (USD)")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=100)
    finally:
        plt.close(fig)
    return path
