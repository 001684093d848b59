"""`gemini-assets release ...`: canary releases by hand (the canary_releases asset decides by itself)."""

from __future__ import annotations

import click
from tabulate import tabulate

from gemini_assets.cli.common import settings, store
from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.review.identity import os_user
from gemini_assets.core.stages import releases
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets.core.tasks.releases import Decision, ReleaseState


@click.group()
def release() -> None:
    """Canary releases: see which version and model each task runs, promote or roll back by hand."""


@release.command()
def status() -> None:
    """Per task: the version and model its items get, a running canary, the last decision."""
    config = settings()
    catalog = TaskCatalog.load(store(config), config.releases_file)
    click.echo(tabulate(releases.release_status(catalog), headers="keys"))


def _decide(task: str, decision: Decision, reason: str, to_version: str | None = None) -> ReleaseState:
    config = settings()
    target = store(config)
    catalog = TaskCatalog.load(target, config.releases_file)
    catalog.get(task)  # UnknownTask: exit 4
    audit = AuditLog.from_settings(target, config)
    state = releases.decide(target, audit, catalog, task, decision, os_user(), reasons=[reason], to_version=to_version)
    click.echo(
        f"{task}: {state.decision} {state.candidate} by {state.decided_by}; items now get version "
        f"{state.stable_version}, model {state.stable_model or '(routes)'} (audited)"
    )
    return state


@release.command()
@click.argument("task")
@click.option("--reason", required=True, help="Why (lands in the audit event).")
def promote(task: str, reason: str) -> None:
    """Make TASK's running canary the version (or model) of every item."""
    _decide(task, Decision.PROMOTED, reason)


@release.command()
@click.argument("task")
@click.option("--reason", required=True, help="Why (lands in the audit event).")
@click.option(
    "--version",
    "to_version",
    default=None,
    help="Pin this version (default: the canary's baseline, or the version before the last promotion).",
)
def rollback(task: str, reason: str, to_version: str | None) -> None:
    """Stop TASK's canary and pin the version the other items kept, or undo the last promotion.
    Re-run a day afterwards to rebuild its records: answers of the pinned version come from the archive."""
    _decide(task, Decision.ROLLED_BACK, reason, to_version)
