"""Golden sets: labelled media per task, the yardstick for how right the answers are.

Layout below the storage root, one folder per task:

    golden/<task>/manifest.jsonl        one GoldenItem (JSON) per line, oldest first: the set's index
    golden/<task>/media/<sha256>.<ext>  each item's original bytes, as intake accepted them

A candidate is judged by intake's own decision (``validate_and_store``: regular file, size,
sniffed type, the format's parser in a child process with the metadata stripper's check, consent
last), never by rules of its own, so a golden item can be sent exactly like an upload: the stripped
copy is made on the way out (core/privacy/copies.py), as for every item. While it is judged its
bytes sit at ``golden/<task>/inbox/`` and ``staging/golden/<task>/`` (scratch); a refused candidate
is kept like any rejected upload, at ``quarantine/golden/<task>/<id>/`` with ``reason.json``, and
the addition fails with intake's reason. The upload's sidecar fields (uploader, consent,
residency, context) are kept with the item: the prompt uses the context, and residency says where
the item may be sent when the set is evaluated.

A label names the fields it vouches for (any of the task's answer fields but ``confidence``), each
checked against the task's answer model. Items are unique per task by the SHA-256 of the original:
adding content that is there already returns the item that is there, with its first label
(``added`` is False). Writers hold the lease ``golden/<task>`` so two additions at once never lose
each other's manifest line. Every addition is an audit event ``golden_added`` in the day's chain:
the review item's day when it comes from review (beside its ``reviewed`` event), else today's.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.contracts.enums import MediaKind, Residency, SidecarStatus
from gemini_assets.core.contracts.errors import DecisionError, GoldenSetError
from gemini_assets.core.contracts.tables import RawMediaRow, ValidatedMediaRow
from gemini_assets.core.media.facts import MediaFacts
from gemini_assets.core.media.policy import DEFAULT_POLICY, MediaPolicy
from gemini_assets.core.media.probe import Prober
from gemini_assets.core.output.agreement import NOT_COMPARED
from gemini_assets.core.review.decisions import checked_reviewer
from gemini_assets.core.review.workflow import find_item
from gemini_assets.core.stages.intake import extension_of, media_id_for, validate_and_store
from gemini_assets.core.storage.lease import Lease, LeaseSettings, holder_id
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import read_partition, rows_from
from gemini_assets.core.tasks.catalog import TaskCatalog, TaskSpec

GOLDEN = "golden"
_TASK_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_PLAIN_EXTENSION = re.compile(r"[a-z0-9]{1,10}")


class GoldenSource(StrEnum):
    SEEDED = "seeded"  # added with its label (sample media, a labelled file)
    REVIEW = "review"  # a person's approved or edited record


class GoldenUpload(BaseModel):
    """What an upload's sidecar says; intake judges consent from it as for any upload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uploader: str | None = None
    consent: bool | None = None
    residency: Residency | None = None
    context: str | None = None


# validated_media's probe columns (duration, pages, size in pixels...), kept with each item so it is
# planned and budgeted like the upload it was.
PROBED = frozenset(f.name for f in fields(MediaFacts)) - {"media_kind", "mime_type"}


class GoldenItem(GoldenUpload):
    golden_id: str
    task: str
    media_key: str  # golden/<task>/media/<sha256>.<ext>
    sha256: str
    extension: str | None
    media_kind: MediaKind
    mime_type: str
    size_bytes: int
    expected: dict[str, Any]  # the labelled fields
    task_version: str  # the answer model the label was checked against
    source: GoldenSource
    added_by: str
    added_at: datetime
    decision_id: str | None = None  # source = review: the decision whose record is the label
    review_media_id: str | None = None
    review_day: str | None = None
    probe: dict[str, Any] = Field(default_factory=dict)  # PROBED columns intake found (none: unknown)


@dataclass(frozen=True)
class GoldenAddition:
    item: GoldenItem
    added: bool  # False: the content was in the set already (its first label stands)


def golden_prefix(task: str) -> str:
    if not _TASK_NAME.fullmatch(task):
        raise GoldenSetError(f"{task!r} is not a task name")
    return f"{GOLDEN}/{task}"


def manifest_key(task: str) -> str:
    return f"{golden_prefix(task)}/manifest.jsonl"


def load_golden_set(store: ObjectStore, task: str) -> list[GoldenItem]:
    """The task's golden items, oldest first (none when the task has no set yet)."""
    key = manifest_key(task)
    if not store.exists(key):
        return []
    lines = store.read_bytes(key).decode().splitlines()
    return [GoldenItem.model_validate_json(line) for line in lines if line.strip()]


def checked_label(spec: TaskSpec, expected: Mapping[str, Any]) -> dict[str, Any]:
    """The label's fields validated by the task's answer model (only the fields it names)."""
    fields = spec.output_model.model_fields
    if set(expected) & NOT_COMPARED:
        raise GoldenSetError("confidence is the model's estimate, not a fact about the media: leave it out")
    unknown = sorted(set(expected) - set(fields))
    if unknown:
        raise GoldenSetError(f"{spec.name} {spec.version} has no field {unknown}; its fields: {sorted(fields)}")
    if not expected:
        raise GoldenSetError("a label names at least one field")
    # A model of just the labelled fields, each with its annotation and constraints (enums, lengths).
    definitions: dict[str, Any] = {name: (fields[name].annotation, fields[name]) for name in expected}
    partial = create_model(f"{spec.output_model.__name__}Label", __config__=ConfigDict(extra="forbid"), **definitions)
    try:
        checked: dict[str, Any] = partial.model_validate(dict(expected)).model_dump(mode="json")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise GoldenSetError(f"the label does not fit {spec.name} {spec.version}: {problems}") from None
    return checked


class GoldenSets:
    """Adds to and reads the golden sets of one storage root."""

    def __init__(
        self,
        store: ObjectStore,
        audit: AuditLog,
        catalog: TaskCatalog | None = None,
        policy: MediaPolicy = DEFAULT_POLICY,
        prober: Prober | None = None,
        lease_settings: LeaseSettings | None = None,
    ):
        self.store, self.audit, self.catalog = store, audit, catalog or TaskCatalog()
        self.policy, self.prober, self.lease_settings = policy, prober, lease_settings

    def load(self, task: str) -> list[GoldenItem]:
        return load_golden_set(self.store, self.catalog.get(task).name)

    def add(
        self,
        task: str,
        file_name: str,
        data: bytes,
        expected: Mapping[str, Any],
        upload: GoldenUpload,
        added_by: str | None = None,
        day: str | None = None,
    ) -> GoldenAddition:
        """Add labelled media given as bytes (small files: samples, a test); see ``add_stored``."""
        spec = self.catalog.get(task)
        checked_label(spec, expected)  # a bad label fails before anything is written
        there = self._existing(spec.name, hashlib.sha256(data).hexdigest())
        if there is not None:
            return GoldenAddition(there, added=False)
        extension = extension_of(posixpath.basename(file_name))
        # Our own key (the name only lends intake its extension), like staging/ does.
        inbox = f"{golden_prefix(spec.name)}/inbox/{uuid.uuid4().hex}"
        inbox += f".{extension}" if _PLAIN_EXTENSION.fullmatch(extension) else ".bin"
        self.store.write_bytes(inbox, data)
        try:
            return self.add_stored(task, inbox, expected, upload, added_by, day, file_name=file_name)
        finally:
            self.store.remove(inbox)

    def add_stored(
        self,
        task: str,
        key: str,
        expected: Mapping[str, Any],
        upload: GoldenUpload,
        added_by: str | None = None,
        day: str | None = None,
        file_name: str | None = None,
    ) -> GoldenAddition:
        """Add labelled media that is already below the storage root at ``key`` (streamed, never
        read whole), source ``seeded``, after intake accepted it. ``day``: the audit day (today);
        ``file_name``: the name shown in a refusal (its extension counts), else the key's."""
        spec = self.catalog.get(task)
        label = checked_label(spec, expected)
        fields: dict[str, Any] = {
            "expected": label,
            "task_version": spec.version,
            "source": GoldenSource.SEEDED,
            "added_by": checked_reviewer(added_by),
        }
        entry = self.store.entry(key)
        if entry is None:
            raise GoldenSetError(f"nothing is stored at {key!r}")
        # A link, FIFO or device is never read: intake refuses it unopened (not_regular_file).
        sha256 = self.store.sha256(key) if entry.regular else ""
        there = self._existing(spec.name, sha256) if sha256 else None
        if there is not None:
            return GoldenAddition(there, added=False)
        name = posixpath.basename(file_name or key)
        return self._admit(spec, key, name, sha256, upload, fields, day or _today())

    def add_from_review(self, media_id: str, day: str | None = None, added_by: str | None = None) -> GoldenAddition:
        """Add a reviewed item: its latest decision must approve or edit; the published record
        (without confidence) is the label, and its media is judged by intake again."""
        try:
            review = find_item(self.store, media_id, day)
        except DecisionError as exc:
            raise GoldenSetError(str(exc)) from None
        decision = review.decision
        if decision is None or not decision.publishes or decision.record is None:
            latest = "none" if decision is None else str(decision.action)
            raise GoldenSetError(
                f"{review.row.media_id} has no approved or edited record (latest decision: {latest}): "
                "approve or edit it first"
            )
        spec = self.catalog.get(review.row.task, review.row.task_version)
        label = checked_label(spec, {k: v for k, v in decision.record.items() if k not in NOT_COMPARED})
        media = self._validated_row(review.day, review.row.media_id)
        there = self._existing(spec.name, media.sha256)
        if there is not None:
            return GoldenAddition(there, added=False)
        upload = GoldenUpload(
            uploader=media.uploader, consent=media.consent, residency=media.residency, context=media.context
        )
        fields: dict[str, Any] = {
            "expected": label,
            "task_version": spec.version,
            "source": GoldenSource.REVIEW,
            "added_by": checked_reviewer(added_by),
            "decision_id": decision.decision_id,
            "review_media_id": review.row.media_id,
            "review_day": review.day,
        }
        name = posixpath.basename(media.storage_key)
        return self._admit(spec, media.storage_key, name, media.sha256, upload, fields, review.day)

    # -- one addition ------------------------------------------------------------------------
    def _existing(self, task: str, sha256: str) -> GoldenItem | None:
        return next((item for item in load_golden_set(self.store, task) if item.sha256 == sha256), None)

    def _validated_row(self, day: str, media_id: str) -> ValidatedMediaRow:
        try:
            rows = rows_from(read_partition(self.store, "validated_media", day), ValidatedMediaRow)
        except FileNotFoundError:
            rows = []
        found = next((row for row in rows if row.media_id == media_id), None)
        if found is None:
            raise GoldenSetError(f"{media_id} is not in validated_media of {day}: its media cannot be found")
        return found

    def _admit(
        self,
        spec: TaskSpec,
        source_key: str,
        file_name: str,
        sha256: str,
        upload: GoldenUpload,
        fields: dict[str, Any],
        day: str,
    ) -> GoldenAddition:
        with Lease(self.store, f"{GOLDEN}/{spec.name}", holder_id(None), self.lease_settings):
            items = load_golden_set(self.store, spec.name)
            there = next((i for i in items if i.sha256 == sha256), None)
            if there is not None:  # added by someone else since we looked
                return GoldenAddition(there, added=False)
            accepted = self._intake(spec.name, source_key, file_name, sha256, upload)
            media_key = f"{golden_prefix(spec.name)}/media/{sha256}.{accepted.extension or 'bin'}"
            if not self.store.exists(media_key):
                self.store.copy_stream(accepted.storage_key, media_key, expected_sha256=sha256)
            golden = GoldenItem(
                golden_id=sha256[:20],
                task=spec.name,
                media_key=media_key,
                sha256=sha256,
                extension=accepted.extension,
                media_kind=accepted.media_kind,
                mime_type=accepted.mime_type,
                size_bytes=accepted.size_bytes,
                probe=accepted.model_dump(include=set(PROBED), exclude_none=True),
                added_at=datetime.now(UTC),
                **upload.model_dump(),
                **fields,
            )
            lines = [i.model_dump_json() for i in [*items, golden]]
            self.store.replace(manifest_key(spec.name), ("\n".join(lines) + "\n").encode())
        self.audit.append(day, [_event(golden)])
        return GoldenAddition(golden, added=True)

    def _intake(
        self, task: str, source_key: str, file_name: str, sha256: str, upload: GoldenUpload
    ) -> ValidatedMediaRow:
        entry = self.store.entry(source_key)
        row = RawMediaRow(
            media_id=media_id_for(f"{GOLDEN}/{task}/{uuid.uuid4().hex}"),  # a fresh quarantine folder per attempt
            task=task,
            landing_key=source_key,
            file_name=file_name,
            extension=extension_of(file_name) or None,
            size_bytes=entry.size if entry is not None else 0,
            sha256=sha256,
            sidecar_status=SidecarStatus.PRESENT,
            object_type=entry.kind if entry is not None else "other",
            **upload.model_dump(),
        )
        verdict = validate_and_store(self.store, row, f"{GOLDEN}/{task}", self.policy, self.catalog, self.prober)
        if verdict.accepted is None:
            refused = verdict.quarantined
            reason = f"{refused.reason_code}: {refused.reason_detail}" if refused else "refused"
            where = f" (kept at {refused.quarantine_key})" if refused else ""
            raise GoldenSetError(f"intake refused {file_name}: {reason}{where}")
        return verdict.accepted


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _event(item: GoldenItem) -> dict[str, Any]:
    return {
        "event": "golden_added",
        "media_id": item.review_media_id,
        "task": item.task,
        "golden_id": item.golden_id,
        "sha256": item.sha256,
        "source": str(item.source),
        "added_by": item.added_by,
        "decision_id": item.decision_id,
        "labelled_fields": sorted(item.expected),
    }
