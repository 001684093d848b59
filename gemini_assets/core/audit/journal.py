"""The write-ahead journal of billed calls: every attempt is on record before it is sent.

The gateway tells the journal about each attempt twice (``GenerateRequest.journal``): just
before the request goes out, and as soon as its outcome is known, before the next attempt
starts. Each attempt is one object, ``journal/calls/<day>/<call_id>.json``: created in flight
(only once: a replayed batch line is not counted twice), replaced by its outcome, whose
``model_called`` event is then appended to the day's audit chain. The day's ``call_ledger`` is
built from the journal of every run, so a run killed at any instant loses no attempt it may have
been billed for, and two runs of the same day both land in it.

A run killed mid-call leaves an attempt in flight for good; one killed between the two writes
leaves an outcome without its audit event. ``audit_missing_calls``, run by the next answer step
of the day while it holds the day's lease (so the writer is known to be gone), appends their
events; the ledger books a dead in-flight attempt with ``error_code = outcome_unknown`` and an
unknown cost (``JournaledCall.booked``).
"""

from __future__ import annotations

import json
from typing import Any

from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.contracts.calls import Attempt, CallIdentity, JournaledCall, call_id
from gemini_assets.core.storage.objectstore import ObjectStore

CALLS = "journal/calls"


def calls_prefix(day: str) -> str:
    return f"{CALLS}/{day}"


class CallJournal:
    def __init__(self, store: ObjectStore, audit: AuditLog, day: str, run_id: str | None):
        self.store, self.audit, self.day, self.run_id = store, audit, day, run_id

    def for_item(self, identity: CallIdentity) -> ItemJournal:
        """The journal one item's requests carry (``GenerateRequest.journal``)."""
        return ItemJournal(self, identity)

    def key(self, entry_id: str) -> str:
        return f"{calls_prefix(self.day)}/{entry_id}.json"

    def entry(self, identity: CallIdentity, attempt: Attempt) -> JournaledCall:
        started = attempt.started_at.isoformat()
        return JournaledCall(
            call_id=call_id(identity.media_id, attempt.attempt, started),
            day=self.day,
            run_id=self.run_id,
            identity=identity,
            attempt=attempt,
        )

    def entries(self) -> list[JournaledCall]:
        """Every journaled attempt of the day, by every run, in start order."""
        found = [
            JournaledCall.model_validate_json(self.store.read_bytes(obj.key))
            for obj in self.store.walk_files(calls_prefix(self.day))
            if obj.key.endswith(".json")
        ]
        return sorted(found, key=lambda e: (e.attempt.started_at, e.call_id))

    def audit_missing_calls(self, tasks: set[str] | None = None) -> int:
        """Audit the journaled attempts the chain lacks: outcomes whose event was never appended,
        and attempts still in flight (their run is gone: only call this under the day's lease).
        Returns how many events were appended."""
        audited = {r.get("call_id") for r in self.audit.read(self.day) if r.get("event") == "model_called"}
        missing = []
        for entry in self.entries():
            if entry.call_id in audited or (tasks is not None and entry.identity.task not in tasks):
                continue
            event = model_called_event(entry)
            event["recovered"] = True
            missing.append(event)
        if missing:
            self.audit.append(self.day, missing, run_id=self.run_id, sign=False)
        return len(missing)


class ItemJournal:
    """One item's attempts: the ``AttemptJournal`` the gateway calls."""

    def __init__(self, journal: CallJournal, identity: CallIdentity):
        self.journal, self.identity = journal, identity

    def started(self, attempt: Attempt) -> None:
        entry = self.journal.entry(self.identity, attempt)
        self.journal.store.create(self.journal.key(entry.call_id), entry.model_dump_json().encode())

    def finished(self, attempt: Attempt) -> None:
        """Record the outcome (once) and audit it. An attempt journaled before with its outcome
        (a batch line handed in again on a re-run) is neither rewritten nor audited twice."""
        entry = self.journal.entry(self.identity, attempt)
        key = self.journal.key(entry.call_id)
        store = self.journal.store
        data = entry.model_dump_json().encode()
        if not store.create(key, data):
            earlier = JournaledCall.model_validate_json(store.read_bytes(key))
            if earlier.outcome_known:
                return
            store.replace(key, data)
        self.journal.audit.append(self.journal.day, [model_called_event(entry)], self.journal.run_id, sign=False)


def model_called_event(entry: JournaledCall) -> dict[str, Any]:
    """Who was called, how it went, what it cost in tokens (no content)."""
    attempt, identity = entry.booked, entry.identity
    event: dict[str, Any] = {
        "event": "model_called",
        "call_id": entry.call_id,
        "media_id": identity.media_id,
        "task": identity.task,
        "model": identity.model,
        "backend": identity.backend,
        "attempt": attempt.attempt,
        "purpose": attempt.purpose,
        "service_tier": attempt.service_tier,
        "status_code": attempt.status_code,
        "error_code": attempt.error_code,
        "response_id": attempt.response_id,
        "input_tokens": attempt.usage.input_tokens if attempt.usage else None,
        "output_tokens": attempt.usage.output_tokens if attempt.usage else None,
        "call_run_id": entry.run_id,
    }
    plain: dict[str, Any] = json.loads(json.dumps(event, default=str))  # enums and datetimes as text
    return plain
