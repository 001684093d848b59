"""`gemini-assets seed | demo | emulator`: sample uploads, a whole day on the emulator, the emulator."""

from __future__ import annotations

from pathlib import Path

import click

from gemini_assets.cli import devkit
from gemini_assets.cli.common import DAY, BadConfiguration, Failed, settings, store, yesterday
from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.config import environment_overrides
from gemini_assets.core.stages.golden import GoldenSets
from gemini_assets.core.tasks.catalog import TaskCatalog

AB_ROUTES = Path(__file__).resolve().parents[1] / "config" / "routes.ab.yaml"
CANARY_PLAN = Path(__file__).resolve().parents[1] / "config" / "releases.example.yaml"
# Labelled samples per task, so task_quality measures every task of the demo day. Twenty or more
# answers let it recommend a confidence threshold (TaskSpec.threshold_min_answers).
GOLDEN_PER_TASK = 20


@click.command()
@click.option("--date", "day", type=DAY, default=yesterday, help="Partition day (default: yesterday, UTC).")
@click.option("--count", default=40, show_default=True, type=click.IntRange(1, 100_000), help="Uploads to write.")
@click.option(
    "--task",
    default="all",
    show_default=True,
    help="A task name, or 'all' for a mixed day (images, PDFs, videos, recordings).",
)
def seed(day: str, count: int, task: str) -> None:
    """Write realistic sample uploads (a few invalid) into landing/<date>/<task>/."""
    samples = devkit.require("gemini_devkit.samples.day")
    target = store()
    with click.progressbar(length=count, label=f"seeding {day}") as bar:
        summary = samples.seed_day(target, day, count, task, progress=bar.update)
    click.echo(
        f"wrote {summary.valid} valid and {summary.invalid} invalid uploads under {target.uri(f'landing/{day}')}"
    )


@click.command()
@click.option("--port", default=8765, show_default=True, type=int, help="Port on 127.0.0.1 (0 = any free port).")
@click.option(
    "--state-dir", default=None, help="Where uploaded files live (default: $GEMINI_EMULATOR_STATE_DIR or ~/.cache)."
)
@click.option("--knobs", default=None, help="Emulator knobs: JSON or a JSON file (default: $GEMINI_EMULATOR_KNOBS).")
def emulator(port: int, state_dir: str | None, knobs: str | None) -> None:
    """Serve the bundled Gemini API emulator in the foreground (same as `gemini-emulator`)."""
    server = devkit.require("gemini_devkit.emulator.server")
    args = ["--port", str(port)]
    args += ["--state-dir", state_dir] if state_dir else []
    args += ["--knobs", knobs] if knobs else []
    raise SystemExit(server.main(args))


@click.command()
@click.option("--date", "day", type=DAY, default=yesterday, help="Partition day (default: yesterday, UTC).")
@click.option("--count", default=40, show_default=True, type=click.IntRange(1, 100_000), help="Uploads to seed first.")
@click.option("--no-seed", is_flag=True, help="Process what is already in landing/.")
@click.option(
    "--challengers",
    is_flag=True,
    help="Shadow A/B: GPT-5.5 and Claude Opus 4.7 also answer 20%% each (config/routes.ab.yaml).",
)
@click.option(
    "--canary",
    is_flag=True,
    help="Canary release: product_recognition 1.1.0 on 20%% of its items (config/releases.example.yaml).",
)
def demo(day: str, count: int, no_seed: bool, challengers: bool, canary: bool) -> None:
    """Seed a day and run daily_pipeline on it on the bundled emulator; print what came out."""
    from gemini_assets.cli import demo_run

    if not no_seed:
        seed.callback(day=day, count=count, task="all")  # type: ignore[misc]
    seed_golden()
    server = devkit.require("gemini_devkit.emulator.server")
    config = settings()
    state = config.cache_dir / "emulator"
    try:
        handle = server.start_emulator(state)
    except server.KnobsError as exc:  # a malformed $GEMINI_EMULATOR_KNOBS: the message names it
        raise BadConfiguration(str(exc)) from None
    click.echo(f"bundled emulator on {handle.url} (GEMINI_ASSETS_BACKEND=emulator; state in {state})")
    home = config.dagster_home
    log_path = demo_run.log_path(Path(home) if home else None, day)
    try:
        # The in-process run reads the environment like any run: point it at this emulator and root.
        overrides = {"GEMINI_ASSETS_BACKEND": "emulator", "GOOGLE_GEMINI_BASE_URL": handle.url}
        if challengers:
            overrides["GEMINI_ASSETS_ROUTES"] = str(AB_ROUTES)
        if canary:
            overrides["GEMINI_ASSETS_RELEASES"] = str(CANARY_PLAN)
        with environment_overrides({**overrides, "GEMINI_ASSETS_STORAGE": config.storage}):
            click.echo(f"running daily_pipeline for {day}; Dagster's log: {log_path}")
            ok = demo_run.run_day(day, log_path, home is not None)
            demo_run.print_summary(store(), day)
            if challengers:
                demo_run.print_comparison(store(), day)
            demo_run.print_quality(store(), day)
            if canary:
                demo_run.print_canaries(store(), day)
    finally:
        handle.stop()
    if not ok:
        raise Failed(f"the run failed: see above and {log_path}")
    click.echo("\nNext: `./run ui` opens the Dagster UI with this run (http://127.0.0.1:3000);")
    click.echo("      `gemini-assets review list` shows what waits for a person; docs/tables.md explains every column.")


def seed_golden() -> None:
    """A golden set per task from the sample generator, for the tasks that have none yet: a set
    someone grew by hand (`gemini-assets golden from-review`) is left as it is."""
    golden = devkit.require("gemini_devkit.samples.golden")
    config = settings()
    target = store(config)
    sets = GoldenSets(target, AuditLog.from_settings(target, config))
    missing = [task for task in TaskCatalog().names() if not sets.load(task)]
    if not missing:
        click.echo("golden sets: every task has one under golden/ (kept as it is)")
        return
    added = golden.seed_golden_sets(sets, GOLDEN_PER_TASK, tasks=missing)
    click.echo(f"golden sets: {len(added)} tasks x {GOLDEN_PER_TASK} labelled samples under golden/")
