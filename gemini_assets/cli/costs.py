"""The `gemini-assets costs` command group (registered by gemini_assets/cli.py)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click


def _day(_ctx, _param, value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-24") from None


@click.group("costs")
def costs() -> None:
    """What the model calls cost: reports from daily_costs."""


@costs.command("report")
@click.option("--from", "start", required=True, callback=_day, help="First partition day, YYYY-MM-DD.")
@click.option("--to", "end", required=True, callback=_day, help="Last partition day, YYYY-MM-DD (inclusive).")
@click.option("--chart", "chart", default=None, type=click.Path(dir_okay=False), help="PNG path (default: costs_<from>_<to>.png).")
def report(start: date, end: date, chart: str | None) -> None:
    """Print daily cost by model and write a PNG chart of it."""
    from gemini_assets.core.costs.report import cost_report, format_table, write_chart
    from gemini_assets.core.storage.objectstore import ObjectStore

    try:
        frame = cost_report(ObjectStore(), start, end)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(format_table(frame))
    path = write_chart(frame, Path(chart or f"costs_{start}_{end}.png"), f"Daily cost by model, {start} to {end}")
    click.echo(f"chart: {path}")
