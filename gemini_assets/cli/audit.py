"""`gemini-assets audit verify`: check the hash chain and the signed checkpoints."""

from __future__ import annotations

import click

from gemini_assets.cli.common import DAY, EXIT_FAILED, settings, store
from gemini_assets.core.audit.log import AuditLog


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command()
@click.option("--date", "day", type=DAY, default=None, help="Only this day (default: every day in the log).")
def verify(day: str | None) -> None:
    """Detect edited, removed or truncated events; exit 1 when any day fails."""
    config = settings()
    log = AuditLog.from_settings(store(config), config)
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
        raise SystemExit(EXIT_FAILED)
