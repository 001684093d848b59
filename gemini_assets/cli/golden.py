"""`gemini-assets golden ...`: the golden sets task_quality measures against (docs/quality.md)."""

from __future__ import annotations

import click
from tabulate import tabulate

from gemini_assets.cli.common import DAY, Refused, settings, store
from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.contracts.errors import GoldenSetError
from gemini_assets.core.review.identity import os_identity
from gemini_assets.core.stages.golden import GoldenSets


def _sets() -> GoldenSets:
    config = settings()
    target = store(config)
    return GoldenSets(target, AuditLog.from_settings(target, config))


@click.group()
def golden() -> None:
    """Golden sets: labelled items per task, the yardstick of task_quality and the canary gate."""


@golden.command("from-review")
@click.argument("media_id")
@click.option("--date", "day", type=DAY, default=None, help="The review item's day (default: searched).")
def from_review(media_id: str, day: str | None) -> None:
    """Add a reviewed item to its task's golden set: its latest decision (approve or edit) is the
    label. Recorded under your OS user and audited as golden_added."""
    try:
        added = _sets().add_from_review(media_id, day, added_by=os_identity().name)
    except GoldenSetError as exc:  # not reviewed, rejected, refused by intake: nothing was added
        raise Refused(str(exc)) from None
    item = added.item
    verb = "added to" if added.added else "already in"
    click.echo(f"{item.golden_id} {verb} the {item.task} golden set (labelled: {', '.join(sorted(item.expected))})")


@golden.command("list")
@click.argument("task")
def list_items(task: str) -> None:
    """TASK's golden items, oldest first."""
    items = _sets().load(task)
    rows = [[i.golden_id, i.source, i.added_by, f"{i.added_at:%Y-%m-%d}", ", ".join(sorted(i.expected))] for i in items]
    click.echo(tabulate(rows, headers=["golden_id", "source", "added_by", "added", "labelled"]) if rows else "no items")
