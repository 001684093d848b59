"""`gemini-assets`: seed and run days, emulator, review, audit, tables, costs, compare, quality, release."""

from __future__ import annotations

import click

from gemini_assets.cli import audit, compare, costs, demo, golden, quality, releases, review, tables
from gemini_assets.cli.common import EXIT_CODES_HELP, Commands, storage_option


@click.group(cls=Commands, epilog=EXIT_CODES_HELP)
@storage_option
def main(storage_root: str | None) -> None:
    """Turn a day of uploaded media into validated, cost-accounted Gemini results."""


for command in (
    demo.seed,
    demo.demo,
    demo.emulator,
    review.review,
    audit.audit,
    tables.tables,
    costs.costs,
    compare.compare,
    quality.quality,
    releases.release,
    golden.golden,
):
    main.add_command(command)

__all__ = ["main"]
