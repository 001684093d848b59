"""The record of one submitted batch, persisted under ``<storage root>/batches/<day>/``.

Written right after ``batches.create`` returns and before any waiting, so a crash mid-wait is
recoverable: a re-run finds the record for the same items and resumes polling instead of
submitting again (the batch's display name carries the same key, for a crash in the short gap
between create and this write). The ``gemini_batches`` table is built from these records.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from gemini_assets.core.contracts.calls import BATCH_FAILED_STATES
from gemini_assets.core.contracts.tables import GeminiBatchRow, ValidatedMediaRow
from gemini_assets.core.storage.objectstore import ObjectStore, safe_key

log = logging.getLogger(__name__)
BATCHES = "batches"


def batch_key(day: str, model: str, items: list[ValidatedMediaRow], prompt_hashes: dict[str, str]) -> str:
    """Same day, model and items (content and prompt) → same key → the same batch."""
    members = sorted(f"{i.media_id}:{i.sha256}:{prompt_hashes[i.media_id]}" for i in items)
    return hashlib.sha256(json.dumps([day, model, members]).encode()).hexdigest()


def display_name(day: str, model: str, key: str) -> str:
    return f"gemini_assets {day} {model} {key[:16]}"


@dataclass
class BatchRecord:
    day: str
    batch_key: str
    model: str
    batch_name: str
    display_name: str
    media_ids: list[str]
    input_mode: str  # inline | file
    input_file: str | None
    request_bytes: int
    submitted_at: str  # ISO, UTC
    run_id: str | None
    state: str = "JOB_STATE_PENDING"
    completed_at: str | None = None
    polls: int = 0
    resumed: int = 0  # runs that found this batch already submitted and waited for it
    succeeded_lines: int = 0
    failed_lines: int = 0
    missing_lines: int = 0
    history: list[str] = field(default_factory=list)  # state changes, "<ISO time> <state>"

    @property
    def storage_key(self) -> str:
        return record_key(self.day, self.model, self.batch_key)

    def save(self, store: ObjectStore) -> None:
        store.write_json(self.storage_key, asdict(self))

    def observe(self, state: str) -> bool:
        """Count a poll; True when the state changed (then the record is worth saving)."""
        self.polls += 1
        if state == self.state and self.history:
            return False
        self.state = state
        self.history.append(f"{datetime.now(UTC).isoformat()} {state}")
        return True

    @property
    def failed(self) -> bool:
        return self.state in BATCH_FAILED_STATES


def record_key(day: str, model: str, key: str) -> str:
    return safe_key(BATCHES, day, f"{model.replace('/', '_')}-{key[:32]}.json")


def load_record(store: ObjectStore, day: str, model: str, key: str) -> BatchRecord | None:
    path = record_key(day, model, key)
    if not store.exists(path):
        return None
    try:
        return BatchRecord(**store.read_json(path))
    except (ValueError, TypeError) as exc:  # half-written by a crash: the display name still finds it
        log.warning("unreadable batch record %s (%s): looking the batch up by name", path, exc)
        return None


def retire(store: ObjectStore, record: BatchRecord) -> None:
    """A failed/expired/cancelled batch answered nothing: keep its record apart, free the key."""
    retired = safe_key(BATCHES, record.day, "retired", f"{record.batch_name.replace('/', '_')}.json")
    store.write_json(retired, asdict(record))
    store.fs.rm(store.path(record.storage_key))


def day_records(store: ObjectStore, day: str) -> list[dict[str, Any]]:
    """Every batch record of a day, current and retired, oldest submission first."""
    records = []
    for obj in store.walk_files(safe_key(BATCHES, day)):
        if obj.key.endswith(".json"):
            try:
                records.append({**store.read_json(obj.key), "record_key": obj.key})
            except ValueError:
                log.warning("skipping unreadable batch record %s", obj.key)
    return sorted(records, key=lambda r: (r["submitted_at"], r["batch_name"]))


def batch_rows(store: ObjectStore, day: str) -> list[GeminiBatchRow]:
    """The gemini_batches table of a day, from the records (the table exists while a batch runs)."""
    rows = []
    for r in day_records(store, day):
        submitted = datetime.fromisoformat(r["submitted_at"])
        completed = datetime.fromisoformat(r["completed_at"]) if r.get("completed_at") else None
        rows.append(
            GeminiBatchRow(
                batch_name=r["batch_name"],
                display_name=r["display_name"],
                batch_key=r["batch_key"],
                model=r["model"],
                items=len(r["media_ids"]),
                input_mode=r["input_mode"],
                input_file=r.get("input_file"),
                request_bytes=r.get("request_bytes"),
                state=r["state"],
                retired="/retired/" in r["record_key"],
                submitted_at=submitted,
                completed_at=completed,
                wait_s=(completed - submitted).total_seconds() if completed else None,
                polls=r.get("polls", 0),
                resumed=r.get("resumed", 0),
                succeeded_lines=r.get("succeeded_lines", 0),
                failed_lines=r.get("failed_lines", 0),
                missing_lines=r.get("missing_lines", 0),
                run_id=r.get("run_id"),
                record_key=r["record_key"],
            )
        )
    return rows
