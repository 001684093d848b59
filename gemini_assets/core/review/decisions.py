"""Review decisions by a person: stored append-only, one JSON object per decision.

One object per decision (never a file rewritten in place) keeps the store append-only on plain
disks and on S3 alike; the newest decision for an item wins, and every earlier one stays as the
audit trail of who decided what, when.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from gemini_assets.core.audit.identity import Identity, name_problem
from gemini_assets.core.contracts.enums import ReviewAction
from gemini_assets.core.contracts.errors import DecisionError
from gemini_assets.core.contracts.reasons import ReviewReason
from gemini_assets.core.review.identity import as_identity
from gemini_assets.core.storage.objectstore import ObjectStore

DECISIONS = "audit/review_decisions"
# One validator for every person's name (CLI, web, golden sets' added_by, audit verify).
reviewer_problem = name_problem


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    decision_id: str
    day: str
    media_id: str
    task: str
    action: ReviewAction
    reviewer: str  # who decided
    decided_at: str
    note: str
    record: dict[str, Any] | None  # the record to publish (approve, edit), after the task's output filters
    reason_code: ReviewReason  # why the item was in review
    flags: str | None = None  # what the output filters found in the record (masked or signed off)
    # the OS account that recorded the decision, and how `reviewer` was established
    # (core.audit.identity.IdentitySource); None on decisions recorded before either was kept
    recorded_by: str | None = None
    identity: str | None = None

    @property
    def publishes(self) -> bool:
        return self.action in (ReviewAction.APPROVE, ReviewAction.EDIT)


def checked_reviewer(name: str | None) -> str:
    """The name to record: the one given, else the OS user; either must be a valid name."""
    return as_identity(name).name


def record_decision(
    store: ObjectStore,
    day: str,
    media_id: str,
    task: str,
    action: ReviewAction,
    reason_code: ReviewReason,
    reviewer: Identity | str | None = None,
    note: str = "",
    record: dict[str, Any] | None = None,
    flags: str | None = None,
) -> Decision:
    if action in (ReviewAction.APPROVE, ReviewAction.EDIT) and record is None:
        raise DecisionError(f"{action} needs a record")
    identity = as_identity(reviewer)
    now = datetime.now(UTC)
    decision = Decision(
        decision_id=f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(4)}",
        day=day,
        media_id=media_id,
        task=task,
        action=action,
        reviewer=identity.name,
        recorded_by=identity.recorded_by,
        identity=str(identity.source),
        decided_at=now.isoformat(),
        note=note,
        record=record,
        reason_code=reason_code,
        flags=flags,
    )
    key = f"{DECISIONS}/{day}/{decision.decision_id}-{media_id}.json"
    if store.exists(key):  # append-only: never overwrite
        raise DecisionError(f"decision {key} exists already")
    store.write_bytes(key, decision.model_dump_json().encode())
    return decision


def decisions_for_day(store: ObjectStore, day: str) -> list[Decision]:
    """Every decision of the day, oldest first."""
    found = [Decision.model_validate(store.read_json(obj.key)) for obj in store.walk_files(f"{DECISIONS}/{day}")]
    return sorted(found, key=lambda d: d.decision_id)


def latest_decisions(store: ObjectStore, day: str) -> dict[str, Decision]:
    latest: dict[str, Decision] = {}
    for decision in decisions_for_day(store, day):
        latest[decision.media_id] = decision
    return latest
