"""`gemini-assets audit`: verify the hash chain and the signed checkpoints; seal a damaged day;
show the signing keys (rotation: docs/compliance.md)."""

from __future__ import annotations

from pathlib import Path

import click

from gemini_assets.cli.common import DAY, EXIT_FAILED, settings, store
from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.audit.signing import (
    fingerprint,
    load_existing_key,
    load_trusted_keys,
    public_key_hex,
    public_key_pem,
)
from gemini_assets.core.audit.verify import seal_day


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command()
@click.option("--date", "day", type=DAY, default=None, help="Only this day (default: every day in the log).")
def verify(day: str | None) -> None:
    """Detect edited, removed or truncated events; exit 1 when any day fails, saying what to do next."""
    config = settings()
    log = AuditLog.from_settings(store(config), config)  # trusts GEMINI_ASSETS_AUDIT_TRUSTED_KEYS too
    load_trusted_keys(config.audit_trusted_key_paths())  # a bad list fails even when there is no day
    days = [day] if day else log.days()
    failed = 0
    for current in days:
        result = log.verify(current)
        status = "ok" if result.ok else "FAILED"
        click.echo(f"{current}: {status} ({result.events} events, {result.checkpoints} signed checkpoints)")
        for note in result.notes:
            click.echo(f"  sealed: {note}")
        for problem in result.problems:
            click.echo(f"  - {problem}")
        for step in result.next_steps:
            click.echo(f"  next: {step}")
        failed += not result.ok
    if not days:
        click.echo("the audit log is empty")
    if failed:
        raise SystemExit(EXIT_FAILED)


@audit.command()
@click.option("--date", "day", type=DAY, required=True, help="The day whose log is sealed.")
@click.option("--reason", required=True, help="Why: the incident, what was found (kept in the seal).")
@click.option("--operator", required=True, help="Who seals it (kept in the seal).")
def seal(day: str, reason: str, operator: str) -> None:
    """Seal a damaged day's log as evidence: a signed record of it as found, never a rewrite.

    Later events chain on from the seal, so the day can verify and finish again; any change to
    the sealed events afterwards is still detected. Seal only while no run of the day is active.
    """
    config = settings()
    log = AuditLog.from_settings(store(config), config)
    try:
        earlier = load_trusted_keys(config.audit_trusted_key_paths())
        body = seal_day(log, day, reason=reason, operator=operator, earlier_keys=earlier)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{day}: sealed {body['size']} events as found ({len(body['problems_at_seal'])} problems recorded)")


@audit.command()
def keys() -> None:
    """The key that signs now and the earlier keys verification still trusts, with their ids."""
    config = settings()
    path = config.audit_key_path()
    click.echo(f"{fingerprint(public_key_hex(load_existing_key(path)))}  signs now ({path})")
    for public, source in load_trusted_keys(config.audit_trusted_key_paths()).items():
        click.echo(f"{fingerprint(public)}  trusted ({source})")


@audit.command("public-key")
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A private key file (default: the current key, GEMINI_ASSETS_AUDIT_KEY).",
)
def public_key(key_file: Path | None) -> None:
    """Print a signing key's public half as PEM, to list in GEMINI_ASSETS_AUDIT_TRUSTED_KEYS before a rotation."""
    key = load_existing_key(key_file or settings().audit_key_path())
    click.echo(public_key_pem(key).decode(), nl=False)
