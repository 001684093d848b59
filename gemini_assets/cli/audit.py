"""`gemini-assets audit verify`: check the hash chain and the signed checkpoints."""

from __future__ import annotations

import click

from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.storage.objectstore import ObjectStore


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command()
@click.option("--date", "day", default=None, help="Only this day (default: every day in the log).")
def verify(day: str | None) -> None:
    """Detect edited, removed or truncated events; exit 1 when any day fails."""
    log = AuditLog(ObjectStore())
    days = [day] if day else log.days()
    failed = 0
    for current in days:
        result = log.verify(current)
        status = "ok" if result.ok else "FAILED"
        click.echo(f"{current}: {status} ({result.events} events, {result.checkpoints} signed checkpoints)")
        for problem in result.problems:
            click.echo(f"  - {problem}")
        failed += not result.ok
    if not days:
        click.echo("the audit log is empty")
    if failed:
        raise SystemExit(1)
