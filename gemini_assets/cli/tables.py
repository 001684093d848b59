"""`gemini-assets tables ...`: the versions of a table partition, and rolling one back."""

from __future__ import annotations

import click

from gemini_assets.cli.common import DAY, store
from gemini_assets.core.contracts.tables import TABLES
from gemini_assets.core.storage.tables import partition_versions, restore_partition

TABLE = click.Choice(sorted(TABLES))


@click.group()
def tables() -> None:
    """Inspect and roll back table partitions (every replaced partition is kept)."""


@tables.command()
@click.argument("table", type=TABLE)
@click.option("--date", "day", type=DAY, required=True)
def history(table: str, day: str) -> None:
    """List the archived versions of TABLE for a day, oldest first."""
    versions = partition_versions(store(), table, day)
    click.echo("\n".join(versions) if versions else f"{table} {day} has no earlier version")


@tables.command()
@click.argument("names", nargs=-1, type=TABLE, required=True)
@click.option("--date", "day", type=DAY, required=True)
@click.option("--version", default=None, help="Version id from `tables history` (default: the latest archived).")
def restore(names: tuple[str, ...], day: str, version: str | None) -> None:
    """Make an archived version of each TABLE current again for the day."""
    target = store()
    for table in names:
        chosen = restore_partition(target, table, day, version)  # FileNotFoundError: exit 4
        click.echo(f"{table} {day}: restored version {chosen} (the replaced one is archived)")
