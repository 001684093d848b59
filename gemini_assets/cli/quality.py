"""`gemini-assets quality`: task_quality over a range of days, as a table and a PNG chart."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from gemini_assets.cli.common import BadUsage, range_and_chart, save_png, store
from gemini_assets.core.contracts.tables import TaskQualityRow
from gemini_assets.core.stages.quality import quality_range

SHOWN = {
    "task": "task",
    "task_version": "version",
    "model": "model",
    "items": "items",
    "valid_output_rate": "valid",
    "review_rate": "review",
    "golden_items": "golden",
    "golden_accuracy": "accuracy",
    "golden_mean_field_score": "field score",
    "reviewer_agreement": "reviewers",
    "cost_per_correct_record_usd": "USD/correct",
    "latency_p50_ms": "p50 ms",
    "latency_p95_ms": "p95 ms",
    "ece": "ECE",
    "recommended_threshold": "threshold",
    "threshold_coverage": "coverage",
}

Dated = tuple[str, TaskQualityRow]


@click.command("quality")
@range_and_chart("quality")
def quality(start: str, end: str, chart: str | None) -> None:
    """How right the answers are per day, task version and model: golden-set accuracy, calibration
    (ECE, recommended threshold), valid and review rates, reviewer agreement, cost, latency.

    Reads the days' task_quality partitions (docs/quality.md says how to read them).
    """
    try:
        rows = quality_range(store(), date.fromisoformat(start), date.fromisoformat(end))
    except ValueError as exc:
        raise BadUsage(str(exc)) from None
    click.echo(format_table(rows))
    path = write_chart(rows, Path(chart or f"quality_{start}_{end}.png"), f"Task quality, {start} to {end}")
    click.echo(f"chart: {path}")


def format_table(rows: list[Dated]) -> str:
    if not rows:
        return "no task_quality partitions in this range (materialize task_quality, or run ./run demo)"
    records = [{"day": day} | {label: _cell(getattr(row, name)) for name, label in SHOWN.items()} for day, row in rows]
    return str(tabulate(records, headers="keys", tablefmt="github", showindex=False))


def _cell(value: object) -> object:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else value


def write_chart(rows: list[Dated], path: Path, title: str) -> Path:
    """Left: golden accuracy against cost per correct record, a point per day, version and model;
    right: the reliability diagram (accuracy per confidence bucket) of each version and model."""
    import matplotlib

    matplotlib.use("Agg")  # headless: CI and servers have no display
    import matplotlib.pyplot as plt

    fig, (scatter, reliability) = plt.subplots(1, 2, figsize=(13.0, 5.5))
    try:
        _accuracy_vs_cost(scatter, rows)
        _reliability(reliability, rows)
        fig.suptitle(title)
        save_png(fig, path)
    finally:
        plt.close(fig)
    return path


def _label(row: TaskQualityRow) -> str:
    return f"{row.task} {row.task_version} / {row.model}"


def _accuracy_vs_cost(ax: Any, rows: list[Dated]) -> None:
    measured = [(day, r) for day, r in rows if r.golden_accuracy is not None]
    for label in sorted({_label(r) for _, r in measured}):
        mine = [r for _, r in measured if _label(r) == label]
        # Unpriced days have no cost: they sit at 0 on the x axis rather than vanish.
        ax.scatter([r.cost_per_correct_record_usd or 0.0 for r in mine], [r.golden_accuracy for r in mine], label=label)
    if not measured:
        ax.text(0.5, 0.5, "no golden-set answers", ha="center", va="center", transform=ax.transAxes)
    ax.set(xlabel="cost per correct record (USD)", ylabel="golden accuracy", ylim=(0.0, 1.05))
    ax.set_title("accuracy against cost")
    if measured:
        ax.legend(fontsize="small")


def _reliability(ax: Any, rows: list[Dated]) -> None:
    buckets: dict[str, dict[float, list[float]]] = {}
    for _, row in rows:
        for bucket in json.loads(row.calibration_json) if row.calibration_json else []:
            # Days pooled per version and model, weighted by count: [count, confidence sum, correct sum].
            acc = buckets.setdefault(_label(row), {}).setdefault(bucket["low"], [0.0, 0.0, 0.0])
            acc[0] += bucket["count"]
            acc[1] += bucket["count"] * bucket["mean_confidence"]
            acc[2] += bucket["count"] * bucket["accuracy"]
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for label, found in sorted(buckets.items()):
        points = sorted((conf / n, correct / n) for n, conf, correct in found.values() if n)
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.set(xlabel="mean confidence (bucket)", ylabel="accuracy", xlim=(0.0, 1.0), ylim=(0.0, 1.05))
    ax.set_title("reliability diagram")
    ax.legend(fontsize="small")
