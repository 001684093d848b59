"""`gemini-assets costs report`: daily cost by model as a table and a PNG chart."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
import pandas as pd
from tabulate import tabulate

from gemini_assets.cli.common import BadUsage, range_and_chart, save_png, store
from gemini_assets.core.costs.report import cost_report


@click.group("costs")
def costs() -> None:
    """What the model calls cost: reports from daily_costs."""


@costs.command("report")
@range_and_chart("costs")
def report(start: str, end: str, chart: str | None) -> None:
    """Print daily cost by model and write a PNG chart of it."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    try:
        frame = cost_report(store(), first, last)
    except ValueError as exc:
        raise BadUsage(str(exc)) from None
    click.echo(format_table(frame))
    path = write_chart(frame, Path(chart or f"costs_{start}_{end}.png"), f"Daily cost by model, {start} to {end}")
    click.echo(f"chart: {path}")


def format_table(report: pd.DataFrame) -> str:
    if report.empty:
        return "no daily_costs partitions in this range"
    shown = report.copy()
    for column in ("cost_usd", "cost_per_item_usd"):
        shown[column] = shown[column].map(lambda v: "unpriced" if pd.isna(v) else f"{v:.6f}")
    total = report["cost_usd"].sum(min_count=1)
    unknown = report["cost_usd"].isna().any()
    footer = f"\ntotal: {int(report['calls'].sum())} calls, " + (
        "cost unknown (unpriced calls)" if unknown else f"{total:.6f} USD"
    )
    table = tabulate(shown.to_dict("list"), headers="keys", tablefmt="github", showindex=False)
    return str(table) + footer


def write_chart(report: pd.DataFrame, path: Path, title: str) -> Path:
    """Stacked bars: USD per day, one colour per model."""
    import matplotlib

    matplotlib.use("Agg")  # headless: CI and servers have no display
    import matplotlib.pyplot as plt

    pivot = (
        report.pivot_table(index="date", columns="model", values="cost_usd", aggfunc="sum", fill_value=0.0)
        if len(report)
        else pd.DataFrame()
    )
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
        save_png(fig, path)
    finally:
        plt.close(fig)
    return path
