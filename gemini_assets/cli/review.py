"""`gemini-assets review ...`: the manual review workflow (decisions are append-only and audited)."""

from __future__ import annotations

import json
from typing import Any

import click

from gemini_assets.cli.common import DAY, settings, store
from gemini_assets.core.audit.identity import IdentitySource
from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.contracts.errors import DecisionError
from gemini_assets.core.privacy.filters import TextFilter
from gemini_assets.core.review import workflow
from gemini_assets.core.review.decisions import Decision, reviewer_problem
from gemini_assets.core.review.identity import cli_identity
from gemini_assets.core.tasks.catalog import TaskCatalog


def _short(text: object, width: int) -> str:
    value = "" if text is None else str(text).replace("\n", " ")
    return value if len(value) <= width else value[: width - 1] + "…"


class ReviewerType(click.ParamType):
    """A reviewer's name: short and login-like (it lands in tables, the audit trail and terminals)."""

    name = "NAME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        problem = reviewer_problem(str(value))
        if problem:
            self.fail(problem, param, ctx)
        return str(value)


REVIEWER = ReviewerType()


def reviewer_option(command: Any) -> Any:
    """``--reviewer`` and ``--as-admin``: a decision is recorded under the OS user running the
    command; naming anyone else takes ``--as-admin``, and the audit event records both names."""
    command = click.option(
        "--as-admin",
        is_flag=True,
        help="Record the decision in --reviewer's name although you are someone else (audited: the "
        "event names you as recorded_by).",
    )(command)
    return click.option(
        "--reviewer",
        type=REVIEWER,
        default=None,
        help="Who decided: defaults to, and without --as-admin must be, your OS user.",
    )(command)


def _decide(
    media_id: str, day: str | None, reviewer: str | None, as_admin: bool
) -> tuple[workflow.Reviewer, workflow.ReviewItem]:
    config = settings()
    target = store(config)
    item = workflow.find_item(target, media_id, day)
    # who decides, before anything is written: the OS user, or --reviewer with --as-admin
    identity = cli_identity(reviewer, as_admin)
    # the same filters a model's answer passes, from the same settings as the run
    text_filter = TextFilter.load(config.sensitive_words_file, config.pii_patterns_file)
    audit = AuditLog.from_settings(target, config)
    return workflow.Reviewer(target, audit, TaskCatalog(), identity, text_filter), item


def _who(decision: Decision) -> str:
    """Who decided, and for an admin override who recorded it in their name."""
    if decision.identity == IdentitySource.ADMIN_OVERRIDE:
        return f"{decision.reviewer} (admin override, recorded by {decision.recorded_by})"
    return decision.reviewer


def _done(decision: Decision) -> None:
    click.echo(
        f"{decision.action} recorded for {decision.media_id} by {_who(decision)} at {decision.decided_at}; "
        f"it takes effect when validated_records for {decision.day} is materialized next."
    )


@click.group()
def review() -> None:
    """List, inspect and decide items in the review queue."""


@review.command("list")
@click.option("--date", "day", type=DAY, default=None, help="Only this day.")
@click.option("--reason", default=None, help="Only this reason_code.")
@click.option("--all", "include_decided", is_flag=True, help="Include decided and rejected items.")
def list_command(day: str | None, reason: str | None, include_decided: bool) -> None:
    """Items waiting for a decision (with --all: every item and its state)."""
    items = workflow.list_items(store(), day, include_decided)
    items = [i for i in items if reason is None or i.row.reason_code == reason]
    if not items:
        click.echo("nothing to review")
        return
    click.echo(f"{'date':<10}  {'media_id':<20}  {'task':<20}  {'reason':<18}  {'state':<9}  detail")
    for item in items:
        row = item.row
        click.echo(
            f"{item.day:<10}  {row.media_id:<20}  {row.task:<20}  {row.reason_code:<18}  "
            f"{item.state:<9}  {_short(row.reason_detail, 60)}"
        )
    click.echo(f"{len(items)} item(s)")


@review.command()
@click.argument("media_id")
@click.option("--date", "day", type=DAY, default=None)
def show(media_id: str, day: str | None) -> None:
    """Everything about one item: reason, the model's answer, decisions so far."""
    target = store()
    item = workflow.find_item(target, media_id, day)
    row = item.row
    for name in ("media_id", "task", "task_version", "model", "stage", "reason_code", "reason_detail"):
        click.echo(f"{name:>14}: {getattr(row, name)}")
    click.echo(f"{'day':>14}: {item.day}")
    click.echo(f"{'state':>14}: {item.state}")
    click.echo(f"{'raw answer':>14}: {_short(row.raw_text, 2000)}")
    if row.candidate_json:
        click.echo(f"{'candidate':>14}: {json.dumps(json.loads(row.candidate_json), indent=2)}")
    for decision in workflow.history(target, item):
        click.echo(f"{'decision':>14}: {decision.decided_at} {_who(decision)} {decision.action} {decision.note!r}")


@review.command()
@click.argument("media_id")
@click.option("--date", "day", type=DAY, default=None)
@reviewer_option
@click.option("--note", default="")
def approve(media_id: str, day: str | None, reviewer: str | None, as_admin: bool, note: str) -> None:
    """Publish the model's schema-valid answer as a record."""
    person, item = _decide(media_id, day, reviewer, as_admin)
    _done(person.approve(item, note))


@review.command()
@click.argument("media_id")
@click.option("--date", "day", type=DAY, default=None)
@reviewer_option
@click.option("--note", default="")
def reject(media_id: str, day: str | None, reviewer: str | None, as_admin: bool, note: str) -> None:
    """Keep the item out of validated_records for good."""
    person, item = _decide(media_id, day, reviewer, as_admin)
    _done(person.reject(item, note))


@review.command()
@click.argument("media_id")
@click.option("--date", "day", type=DAY, default=None)
@click.option("--set", "assignments", multiple=True, help="field=value (JSON values allowed), repeatable.")
@click.option("--json", "record_json", default=None, help="A whole record as JSON.")
@reviewer_option
@click.option("--note", default="")
def edit(
    media_id: str,
    day: str | None,
    assignments: tuple[str, ...],
    record_json: str | None,
    reviewer: str | None,
    as_admin: bool,
    note: str,
) -> None:
    """Publish a corrected record (validated against the task's schema)."""
    try:
        changes = json.loads(record_json) if record_json else {}
    except ValueError as exc:
        raise DecisionError(f"--json is not JSON: {exc}") from None
    if not isinstance(changes, dict):
        raise DecisionError("--json must be a JSON object")
    changes.update(dict(workflow.parse_assignment(a) for a in assignments))
    if not changes:
        raise DecisionError("nothing to change: give --set field=value or --json")
    person, item = _decide(media_id, day, reviewer, as_admin)
    _done(person.edit(item, changes, note))
