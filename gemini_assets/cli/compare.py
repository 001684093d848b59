"""`gemini-assets compare`: the shadow A/B test over a range of days, as a table and a PNG chart."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
import pandas as pd
from tabulate import tabulate

from gemini_assets.cli.common import BadUsage, range_and_chart, save_png, settings, store
from gemini_assets.core.contracts.tables import ModelComparisonRow
from gemini_assets.core.privacy.filters import TextFilter
from gemini_assets.core.stages.compare import compare_range
from gemini_assets.core.tasks.catalog import TaskCatalog

SHOWN = {
    "task": "task",
    "champion_model": "champion",
    "challenger_model": "challenger",
    "items_compared": "compared",
    "items_not_applicable": "n/a",
    "items_not_called": "not called",
    "champion_valid_rate": "valid (champ)",
    "challenger_valid_rate": "valid (chall)",
    "champion_review_rate": "review (champ)",
    "challenger_review_rate": "review (chall)",
    "field_agreement": "agreement",
    "champion_cost_per_valid_usd": "USD/valid (champ)",
    "challenger_cost_per_valid_usd": "USD/valid (chall)",
    "champion_latency_p50_ms": "p50 ms (champ)",
    "challenger_latency_p50_ms": "p50 ms (chall)",
    "challenger_latency_p95_ms": "p95 ms (chall)",
}


@click.command("compare")
@range_and_chart("compare")
def compare(start: str, end: str, chart: str | None) -> None:
    """Champion against shadow challengers per task: validity, review, agreement, cost, latency.

    Computed from the days' model_outputs, challenger_outputs and call_ledger (the same
    function as the model_comparison asset, over the whole range at once).
    """
    config = settings()
    catalog = TaskCatalog()
    text_filter = TextFilter.load(config.sensitive_words_file, config.pii_patterns_file)
    try:
        rows = compare_range(store(config), date.fromisoformat(start), date.fromisoformat(end), catalog, text_filter)
    except ValueError as exc:
        raise BadUsage(str(exc)) from None
    click.echo(format_table(rows))
    path = write_chart(rows, Path(chart or f"compare_{start}_{end}.png"), f"Shadow A/B, {start} to {end}")
    click.echo(f"chart: {path}")


def format_table(rows: list[ModelComparisonRow]) -> str:
    if not rows:
        return "no challenger_outputs partitions in this range (is a challenger configured in routes.yaml?)"
    records = [{label: _cell(getattr(row, name)) for name, label in SHOWN.items()} for row in rows]
    return str(tabulate(records, headers="keys", tablefmt="github", showindex=False))


def _cell(value: object) -> object:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else value


def write_chart(rows: list[ModelComparisonRow], path: Path, title: str) -> Path:
    """Left: valid rate, review rate and agreement per pair; right: USD per valid record."""
    import matplotlib

    matplotlib.use("Agg")  # headless: CI and servers have no display
    import matplotlib.pyplot as plt

    measured = [r for r in rows if r.items_compared]
    labels = [f"{r.task} / {r.challenger_model}" for r in measured]
    fig, (rates, costs) = plt.subplots(1, 2, figsize=(12.0, max(4.0, 1.1 * len(measured) + 2)), sharey=True)
    try:
        if measured:
            pd.DataFrame(
                {
                    "valid (champion)": [r.champion_valid_rate for r in measured],
                    "valid (challenger)": [r.challenger_valid_rate for r in measured],
                    "review (challenger)": [r.challenger_review_rate for r in measured],
                    "field agreement": [r.field_agreement for r in measured],
                },
                index=labels,
            ).astype("float64").plot(kind="barh", ax=rates, xlim=(0.0, 1.05))
            pd.DataFrame(
                {
                    "champion": [r.champion_cost_per_valid_usd for r in measured],
                    "challenger": [r.challenger_cost_per_valid_usd for r in measured],
                },
                index=labels,
            ).astype("float64").plot(kind="barh", ax=costs)
        else:
            for ax in (rates, costs):
                ax.text(0.5, 0.5, "no compared items", ha="center", va="center", transform=ax.transAxes)
        rates.set_title("rates (share of compared items)")
        costs.set_title("cost per valid record (USD)")
        for ax in (rates, costs):
            ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
        fig.suptitle(title)
        save_png(fig, path)
    finally:
        plt.close(fig)
    return path
