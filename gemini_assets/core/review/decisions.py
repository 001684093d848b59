"""Review decisions by a person: stored append-only, one JSON object per decision.

One object per decision (never a file rewritten in place) keeps the store append-only on plain
disks and on S3 alike; the newest decision for an item wins, and every earlier one stays as the
audit trail of who decided what, when.
"""

from __future__ import annotations

import getpass
import secrets
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from gemini_assets.core.contracts.enums import ReviewAction
from gemini_assets.core.contracts.errors import DecisionError
from gemini_assets.core.contracts.reasons import ReviewReason
from gemini_assets.core.storage.objectstore import ObjectStore

DECISIONS = "audit/review_decisions"
REVIEWER_MAX_CHARS = 64
# A reviewer's name is shown in tables, the audit trail and terminals: a short printable name,
# never a path, an escape sequence or a wall of text.
_REVIEWER_PUNCTUATION = frozenset(" ._-@")


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    decision_id: str
    day: str
    media_id: str
    task: str
    action: ReviewAction
    reviewer: str
    decided_at: str
    note: str
    record: dict[str, Any] | None  # the record to publish (approve, edit), after the task's output filters
    reason_code: ReviewReason  # why the item was in review
    flags: str | None = None  # what the output filters found in the record (masked or signed off)

    @property
    def publishes(self) -> bool:
        return self.action in (ReviewAction.APPROVE, ReviewAction.EDIT)


def current_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def reviewer_problem(name: str) -> str | None:
    """Why ``name`` cannot be a reviewer's name: 1 to 64 letters, digits, spaces and ``._-@``."""
    if not 1 <= len(name) <= REVIEWER_MAX_CHARS:
        return f"a reviewer name has 1 to {REVIEWER_MAX_CHARS} characters, not {len(name)}"
    refused = next((char for char in name if not (char.isalnum() or char in _REVIEWER_PUNCTUATION)), None)
    if refused is not None:
        return f"{refused!r} is not allowed in a reviewer name: use letters, digits, spaces and . _ - @"
    if not name[0].isalnum() or name != name.strip():
        return "a reviewer name starts with a letter or digit and does not end with a space"
    return None


def checked_reviewer(name: str | None) -> str:
    """The name to record: the one given, else the login name; either must be a valid name."""
    chosen = name if name is not None else current_reviewer()
    problem = reviewer_problem(chosen)
    if problem and name is None:
        raise DecisionError(f"the login name {chosen!r} is not usable ({problem}): name the reviewer explicitly")
    if problem:
        raise DecisionError(f"invalid reviewer name: {problem}")
    return chosen


def record_decision(
    store: ObjectStore,
    day: str,
    media_id: str,
    task: str,
    action: ReviewAction,
    reason_code: ReviewReason,
    reviewer: str | None = None,
    note: str = "",
    record: dict[str, Any] | None = None,
    flags: str | None = None,
) -> Decision:
    if action in (ReviewAction.APPROVE, ReviewAction.EDIT) and record is None:
        raise DecisionError(f"{action} needs a record")
    now = datetime.now(UTC)
    decision = Decision(
        decision_id=f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(4)}",
        day=day,
        media_id=media_id,
        task=task,
        action=action,
        reviewer=checked_reviewer(reviewer),
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
