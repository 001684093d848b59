"""Review decisions by a person: stored append-only, one JSON object per decision.

One object per decision (never a file rewritten in place) keeps the store append-only on plain
disks and on S3 alike; the newest decision for an item wins, and every earlier one stays as the
audit trail of who decided what, when.
"""

from __future__ import annotations

import getpass
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from gemini_assets.core.storage.objectstore import ObjectStore

DECISIONS = "audit/review_decisions"
ACTIONS = ("approve", "reject", "edit")


class DecisionError(ValueError):
    """A decision that cannot be accepted (unknown item, invalid record ...)."""


@dataclass(frozen=True)
class Decision:
    decision_id: str
    day: str
    media_id: str
    task: str
    action: str  # approve | reject | edit
    reviewer: str
    decided_at: str
    note: str
    record: dict[str, Any] | None  # the record to publish (approve, edit)
    reason_code: str  # why the item was in review

    @property
    def publishes(self) -> bool:
        return self.action in ("approve", "edit")


def current_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def record_decision(
    store: ObjectStore,
    day: str,
    media_id: str,
    task: str,
    action: str,
    reason_code: str,
    reviewer: str | None = None,
    note: str = "",
    record: dict[str, Any] | None = None,
) -> Decision:
    if action not in ACTIONS:
        raise DecisionError(f"action must be one of {ACTIONS}, not {action!r}")
    if action in ("approve", "edit") and record is None:
        raise DecisionError(f"{action} needs a record")
    now = datetime.now(timezone.utc)
    decision = Decision(
        decision_id=f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(4)}",
        day=day,
        media_id=media_id,
        task=task,
        action=action,
        reviewer=reviewer or current_reviewer(),
        decided_at=now.isoformat(),
        note=note,
        record=record,
        reason_code=reason_code,
    )
    key = f"{DECISIONS}/{day}/{decision.decision_id}-{media_id}.json"
    if store.exists(key):  # append-only: never overwrite
        raise DecisionError(f"decision {key} exists already")
    store.write_bytes(key, json.dumps(asdict(decision), sort_keys=True).encode())
    return decision


def decisions_for_day(store: ObjectStore, day: str) -> list[Decision]:
    """Every decision of the day, oldest first."""
    found = [Decision(**store.read_json(obj.key)) for obj in store.walk_files(f"{DECISIONS}/{day}")]
    return sorted(found, key=lambda d: d.decision_id)


def latest_decisions(store: ObjectStore, day: str) -> dict[str, Decision]:
    latest: dict[str, Decision] = {}
    for decision in decisions_for_day(store, day):
        latest[decision.media_id] = decision
    return latest
