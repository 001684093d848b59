"""`gemini-assets`: seed a day, run the emulator, run the demo."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import click

from gemini_assets.core import settings


def _yesterday() -> str:
    return (datetime.now(timezone.utc).date() - timedelta(days=1)).isoformat()


def _valid_day(_ctx, _param, value: str) -> str:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date().isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-24") from None


@click.group()
def main() -> None:
    """Turn a day of uploaded media into validated, cost-accounted Gemini results."""


@main.command()
@click.option("--date", "day", default=_yesterday, callback=_valid_day, help="Partition day, YYYY-MM-DD (default: yesterday, UTC).")
@click.option("--count", default=40, show_default=True, type=click.IntRange(1, 100_000), help="Uploads to write.")
@click.option("--task", default="all", show_default=True, help="A task name, or 'all' for a mixed day (images, PDFs, videos, recordings).")
def seed(day: str, count: int, task: str) -> None:
    """Write realistic sample uploads (a few invalid) into landing/<date>/<task>/."""
    from gemini_devkit.samples.day import seed_day
    from gemini_assets.core.storage.objectstore import ObjectStore

    store = ObjectStore()
    with click.progressbar(length=count, label=f"seeding {day}") as bar:
        summary = seed_day(store, day, count, task, progress=bar.update)
    click.echo(f"wrote {summary.valid} valid and {summary.invalid} invalid uploads under {store.uri(f'landing/{day}')}")


@main.command()
@click.option("--port", default=8765, show_default=True, type=int, help="Port on 127.0.0.1 (0 = any free port).")
@click.option("--state-dir", default=None, help=f"Where uploaded files live (default: ${settings.EMULATOR_STATE_ENV} or ~/.cache).")
@click.option("--knobs", default=None, help="Emulator knobs: JSON or a JSON file (default: $GEMINI_EMULATOR_KNOBS); README: Model gateway.")
def emulator(port: int, state_dir: str | None, knobs: str | None) -> None:
    """Serve the bundled Gemini API emulator in the foreground."""
    from gemini_devkit.emulator.server import main as serve

    args = ["--port", str(port), "--state-dir", str(state_dir or settings.emulator_state_dir())]
    serve(args + (["--knobs", knobs] if knobs else []))


@main.command()
@click.option("--date", "day", default=_yesterday, callback=_valid_day, help="Partition day, YYYY-MM-DD (default: yesterday, UTC).")
@click.option("--count", default=40, show_default=True, type=click.IntRange(1, 100_000), help="Uploads to seed first (0 to skip).")
@click.option("--no-seed", is_flag=True, help="Process what is already in landing/.")
def demo(day: str, count: int, no_seed: bool) -> None:
    """Seed a day, run the daily_pipeline job on it, print a summary and a query to try."""
    from gemini_assets.demo import print_summary, run_day

    if not no_seed:
        seed.callback(day=day, count=count, task="all")
    backend = "Gemini API" if settings.api_key() else "bundled emulator (GEMINI_API_KEY unset)"
    click.echo(f"materializing {day} on the {backend} ...")
    ok = run_day(day)
    print_summary(day)
    if not ok:
        raise click.ClickException("the run failed: see the messages above, or the run in `dagster dev`")
    if os.environ.get("DAGSTER_HOME"):
        click.echo(f"\nThe run is recorded in {os.environ['DAGSTER_HOME']}: `./run ui` shows it in the Dagster UI.")


def _register_subcommands() -> None:
    from gemini_assets.cli_audit import audit
    from gemini_assets.cli_review import review
    from gemini_assets.cli_tables import tables
    from gemini_assets.core.costs.cli import costs

    main.add_command(audit)
    main.add_command(review)
    main.add_command(tables)
    main.add_command(costs)


_register_subcommands()

if __name__ == "__main__":
    main()
