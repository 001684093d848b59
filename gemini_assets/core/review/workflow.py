"""What a reviewer does: find items, look at one, approve, reject or edit it.

Decisions take effect at the next materialization of validated_records for that day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from gemini_assets.core.audit.identity import REVIEWED_EVENT, Identity
from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.contracts.enums import ReviewAction, ReviewStatus
from gemini_assets.core.contracts.errors import DecisionError
from gemini_assets.core.contracts.tables import ReviewQueueRow
from gemini_assets.core.privacy.filters import TextFilter
from gemini_assets.core.review.decisions import (
    Decision,
    decisions_for_day,
    latest_decisions,
    record_decision,
)
from gemini_assets.core.review.identity import as_identity
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import WAREHOUSE, read_partition, rows_from
from gemini_assets.core.tasks.catalog import TaskCatalog

_DONE = {ReviewAction.APPROVE: "approved", ReviewAction.REJECT: "rejected", ReviewAction.EDIT: "edited"}


@dataclass
class ReviewItem:
    day: str
    row: ReviewQueueRow
    decision: Decision | None

    @property
    def state(self) -> str:
        return str(self.row.review_status) if self.decision is None else _DONE[self.decision.action]


def review_days(store: ObjectStore) -> list[str]:
    prefix = f"{WAREHOUSE}/review_queue/date="
    days = {obj.key[len(prefix) :].split("/", 1)[0] for obj in store.walk_files(f"{WAREHOUSE}/review_queue")}
    return sorted(days)


def list_items(store: ObjectStore, day: str | None = None, include_decided: bool = False) -> list[ReviewItem]:
    items = []
    for current in [day] if day else review_days(store):
        try:
            rows = rows_from(read_partition(store, "review_queue", current), ReviewQueueRow)
        except FileNotFoundError:
            continue
        decided = latest_decisions(store, current)
        for row in rows:
            item = ReviewItem(current, row, decided.get(row.media_id))
            if include_decided or (item.decision is None and row.review_status == ReviewStatus.PENDING):
                items.append(item)
    return items


def find_item(store: ObjectStore, media_id: str, day: str | None = None) -> ReviewItem:
    matches = [i for i in list_items(store, day, include_decided=True) if i.row.media_id.startswith(media_id)]
    if not matches:
        raise DecisionError(f"no review item {media_id!r}" + (f" on {day}" if day else ""))
    if len({i.row.media_id for i in matches}) > 1:
        raise DecisionError(f"{media_id!r} is ambiguous: {sorted(i.row.media_id for i in matches)[:5]}")
    return matches[0]


def history(store: ObjectStore, item: ReviewItem) -> list[Decision]:
    return [d for d in decisions_for_day(store, item.day) if d.media_id == item.row.media_id]


class Reviewer:
    """Decisions of one person, validated against the task and written to the audit trail.

    A record a person publishes passes the same output filters as a model's answer (the run's
    TextFilter and the task's policy): findings the task redacts are masked and listed in the
    decision's flags; a finding the task flags refuses an edit (the person typed or kept it), while
    approving the model's answer as it stands is the sign-off the flag asked for and is recorded.
    """

    def __init__(
        self,
        store: ObjectStore,
        audit: AuditLog,
        catalog: TaskCatalog,
        reviewer: Identity | str | None = None,
        text_filter: TextFilter | None = None,
    ):
        """``reviewer``: the identity the entry point established (the CLI's OS user, a proxy's
        user); None is the OS user; a bare name is an admin override by the OS user."""
        self.store, self.audit, self.catalog = store, audit, catalog
        self.identity = as_identity(reviewer)
        self.reviewer = self.identity.name
        self.text_filter = text_filter or TextFilter()

    def validate_record(self, item: ReviewItem, record: dict[str, Any]) -> dict[str, Any]:
        task = self.catalog.get(item.row.task, item.row.task_version)
        try:
            return task.output_model.model_validate(record).model_dump(mode="json")
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            raise DecisionError(f"the record does not match {task.name} {task.version}: {problems}") from None

    def approve(self, item: ReviewItem, note: str = "") -> Decision:
        if not item.row.candidate_json:
            raise DecisionError(
                f"{item.row.media_id} has no schema-valid answer to approve ({item.row.reason_code}); "
                "use `review edit` with a corrected record"
            )
        record = self.validate_record(item, json.loads(item.row.candidate_json))
        return self._decide(item, ReviewAction.APPROVE, note, *self.screen(item, record, ReviewAction.APPROVE))

    def reject(self, item: ReviewItem, note: str = "") -> Decision:
        return self._decide(item, ReviewAction.REJECT, note, None)

    def edit(self, item: ReviewItem, changes: dict[str, Any], note: str = "") -> Decision:
        base = json.loads(item.row.candidate_json) if item.row.candidate_json else {}
        record = self.validate_record(item, {**base, **changes})
        return self._decide(item, ReviewAction.EDIT, note, *self.screen(item, record, ReviewAction.EDIT))

    def screen(
        self, item: ReviewItem, record: dict[str, Any], action: ReviewAction
    ) -> tuple[dict[str, Any], str | None]:
        """The record after the task's output filters, and what they found."""
        task = self.catalog.get(item.row.task, item.row.task_version)
        filtered = self.text_filter.filter_output(record, task.output_policy)
        if filtered.flagged and action == ReviewAction.EDIT:
            raise DecisionError(
                f"the edited record has {', '.join(filtered.flagged[:5])}: {task.name} does not publish these "
                "(its policy flags them for review); take them out of the record, or reject the item"
            )
        return filtered.value, filtered.flags

    def _decide(
        self,
        item: ReviewItem,
        action: ReviewAction,
        note: str,
        record: dict[str, Any] | None,
        flags: str | None = None,
    ) -> Decision:
        decision = record_decision(
            self.store,
            item.day,
            item.row.media_id,
            item.row.task,
            action,
            reason_code=item.row.reason_code,
            reviewer=self.identity,
            note=note,
            record=record,
            flags=flags,
        )
        event = {
            "event": REVIEWED_EVENT,
            "media_id": decision.media_id,
            "action": str(action),
            # who decided, the OS account that recorded it and how the name was established:
            # audit verify checks these on every decision event
            **self.identity.event_fields(),
            "decision_id": decision.decision_id,
        }
        self.audit.append(item.day, [event])
        return decision


def parse_assignment(text: str) -> tuple[str, Any]:
    """``field=value``; the value is read as JSON when it parses (numbers, lists), else as text."""
    if "=" not in text:
        raise DecisionError(f"expected field=value, got {text!r}")
    name, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip(), value
