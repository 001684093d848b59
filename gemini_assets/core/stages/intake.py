"""Step 1, intake: landing/ → raw_media → validated_media | quarantined_media.

Uploads are only ever copied: landing/ is left as it was. Each regular upload is copied once to
staging/ and checked against the hash raw_media recorded (changed_during_ingest otherwise); the
checks read that copy and it is then moved on: accepted originals to media/ under their content
address, rejects to quarantine/ with a JSON reason record. Validation
order: regular file → task and sidecar → size (before reading) → sniffed type vs extension →
the format's parser in a child process (core/media/probe.py), which also runs the metadata
stripper on images and PDFs so that accepted means sendable → consent.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gemini_assets.core.audit.events import item_events
from gemini_assets.core.contracts.enums import SidecarStatus
from gemini_assets.core.contracts.errors import EmptyReplaceRefused, MediaRejected
from gemini_assets.core.contracts.reasons import QuarantineReason
from gemini_assets.core.contracts.tables import QuarantinedMediaRow, RawMediaRow, ValidatedMediaRow
from gemini_assets.core.media.facts import MediaFacts
from gemini_assets.core.media.messages import relative_to_root
from gemini_assets.core.media.policy import DEFAULT_POLICY, MediaPolicy
from gemini_assets.core.media.probe import ProbeJob, Prober, shared_prober
from gemini_assets.core.media.sniff import UNNAMED, header_offset_problem, signature_mime, sniff_stream
from gemini_assets.core.privacy.copies import check_strippable
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.stages.sidecars import is_sidecar, read_sidecar
from gemini_assets.core.stages.staging import Held, held_copy
from gemini_assets.core.storage.checks import CheckOutcome, check_partition
from gemini_assets.core.storage.objectstore import ObjectStore, is_safe_key
from gemini_assets.core.storage.tables import partition_rows
from gemini_assets.core.tasks.catalog import TaskCatalog

LANDING = "landing"
LOG_EVERY = 50
NOT_REGULAR = {
    "symlink": "a symbolic link: its target is neither followed nor read",
    "fifo": "a named pipe (FIFO): not read",
    "socket": "a socket: not read",
    "device": "a device file: not read",
    "other": "not a regular file: not read",
}


def now_utc() -> datetime:
    return datetime.now(UTC)


def media_id_for(landing_key: str) -> str:
    """Stable per landed object: the same path on the same day is the same item on a re-run.

    surrogateescape: a name that is not UTF-8 still gets its own id (its raw bytes decide it).
    """
    return hashlib.sha256(landing_key.encode("utf-8", "surrogateescape")).hexdigest()[:20]


def shown_key(key: str) -> str:
    """The key as text a table can hold: bytes of a name that are not UTF-8 become \\x escapes."""
    return key.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def extension_of(file_name: str) -> str:
    _, dot, ext = file_name.rpartition(".")
    return ext.lower() if dot else ""


def scan_landing(store: ObjectStore, day: str) -> list[RawMediaRow]:
    """One raw_media row per landed file of the day (sidecars are not items)."""
    rows = []
    prefix = f"{LANDING}/{day}"
    entries = list(store.walk_entries(prefix))
    landed = {obj.key for obj in entries}
    for obj in entries:
        if is_sidecar(obj.key, landed):
            continue
        key = shown_key(obj.key)
        relative = key[len(prefix) + 1 :]
        file_name = posixpath.basename(key)
        values: dict[str, Any] = {
            "media_id": media_id_for(obj.key),
            "task": relative.split("/", 1)[0] if "/" in relative else "",
            "landing_key": key,
            "file_name": file_name,
            "extension": extension_of(file_name),
            "size_bytes": obj.size,
            "sha256": "",
            "sidecar_status": SidecarStatus.MISSING,
            "sidecar_problem": "",
            "object_type": obj.kind,
            "name_problem": "the name is not valid UTF-8" if key != obj.key else None,
        }
        # Only a regular file under a safe key is opened: an unsafe key (S3 allows `..` in names)
        # and a link, FIFO, socket or device are recorded and quarantined without reading a byte.
        if is_safe_key(obj.key) and obj.regular and key == obj.key:
            sidecar = read_sidecar(store, obj.key)
            info = store.fs.info(store.path(obj.key))
            landed_at = info.get("mtime") or info.get("LastModified") or info.get("created")
            values.update(
                sha256=store.sha256(obj.key),
                sidecar_status=sidecar.status,
                sidecar_problem=sidecar.problem,
                landed_at=_as_utc(landed_at),
                **sidecar.fields,
            )
        rows.append(RawMediaRow(**values))
    return rows


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), tz=UTC)


def content_key(sha256: str, extension: str | None) -> str:
    return f"media/{sha256[:2]}/{sha256}.{extension or 'bin'}"


@dataclass(frozen=True)
class Verdict:
    """One upload's fate: accepted, or quarantined with a reason."""

    accepted: ValidatedMediaRow | None = None
    quarantined: QuarantinedMediaRow | None = None


@dataclass
class IntakeResult:
    validated: list[ValidatedMediaRow] = field(default_factory=list)
    quarantined: list[QuarantinedMediaRow] = field(default_factory=list)
    conservation: CheckOutcome | None = None


@dataclass(frozen=True)
class Landed:
    """raw_media's rows, and a warning to show loudly when the day's landing folder is missing."""

    rows: list[RawMediaRow]
    warning: str | None = None


def land(ctx: DayContext, allow_empty_replace: bool = False) -> Landed:
    """raw_media: what landed for the day, recorded in the audit trail.

    An empty day is loud: a missing ``landing/<day>`` folder is a warning (a mistyped storage root
    looks exactly like a quiet day), and a day that had uploads is not replaced by an empty one
    unless ``allow_empty_replace`` says so.
    """
    rows = scan_landing(ctx.store, ctx.day)
    if not rows:
        refuse_empty_replace(ctx, allow_empty_replace)
    ctx.log(f"found {len(rows)} uploads for {ctx.day}")
    fields = ("task", "landing_key", "sha256", "size_bytes", "uploader", "consent", "residency")
    ctx.record(item_events("received", rows, *fields))
    return Landed(rows, missing_landing_warning(ctx))


def missing_landing_warning(ctx: DayContext) -> str | None:
    folder = f"{LANDING}/{ctx.day}"
    if ctx.store.exists(folder):
        return None
    return (
        f"{ctx.store.uri(folder)} does not exist: no uploads for {ctx.day}. If the day should have uploads, "
        "check the storage root (GEMINI_ASSETS_STORAGE, or the storage resource's `root`)."
    )


def refuse_empty_replace(ctx: DayContext, allow_empty_replace: bool) -> None:
    had = partition_rows(ctx.store, "raw_media", ctx.day)
    if had and not allow_empty_replace:
        raise EmptyReplaceRefused(
            f"raw_media {ctx.day} has {had} rows but {ctx.store.uri(f'{LANDING}/{ctx.day}')} has no uploads now: "
            "refusing to replace the day with an empty one (wrong GEMINI_ASSETS_STORAGE, or a lost landing folder?). "
            "To empty the day on purpose, run with `ops: {raw_media: {config: {allow_empty_replace: true}}}`."
        )


def validate_day(
    ctx: DayContext, raw: list[RawMediaRow], policy: MediaPolicy = DEFAULT_POLICY, prober: Prober | None = None
) -> IntakeResult:
    """validated_media and quarantined_media for the day's raw uploads (never raises for bad input)."""
    result = IntakeResult()
    # One parser child for the step, closed when the step ends (core/media/probe.py).
    with prober or Prober(policy.probe) as child:
        for index, row in enumerate(raw, start=1):
            verdict = validate_and_store(ctx.store, row, ctx.day, policy, ctx.catalog, child)
            if verdict.accepted is not None:
                result.validated.append(verdict.accepted)
            if verdict.quarantined is not None:
                result.quarantined.append(verdict.quarantined)
            if index % LOG_EVERY == 0:
                ctx.log(f"validated {index}/{len(raw)} uploads")
    result.conservation = check_partition(
        {r.media_id for r in raw},
        {
            "validated_media": {r.media_id for r in result.validated},
            "quarantined_media": {r.media_id for r in result.quarantined},
        },
        "raw_media",
    )
    ctx.log(f"{len(result.validated)} accepted, {len(result.quarantined)} quarantined")
    ctx.record(
        item_events("validated", result.validated, "mime_type", "media_kind")
        + item_events("stored", result.validated, "storage_key", "sha256")
        + item_events("quarantined", result.quarantined, "reason_code", "quarantine_key")
    )
    return result


def validate_and_store(
    store: ObjectStore,
    row: RawMediaRow,
    day: str,
    policy: MediaPolicy,
    catalog: TaskCatalog,
    prober: Prober | None = None,
) -> Verdict:
    """Decide one landed file; store it under media/ or quarantine/. Never raises for bad input.

    A regular file is first copied once into staging/ and checked against the hash raw_media
    recorded; every check reads that copy and that copy is what is kept, so the bytes judged are
    the bytes stored even when landing/ changes meanwhile (changed_during_ingest).
    """
    listed = _listing_problem(row, catalog)
    if listed is not None and not _openable(row):  # never opened: nothing of it is copied
        return Verdict(quarantined=_quarantine(store, row, day, listed, kept=None))
    with held_copy(store, row, day) as held:
        try:
            facts = _validate(store, held, row, policy, catalog, prober or shared_prober(policy.probe))
        except MediaRejected as rejected:
            return Verdict(quarantined=_quarantine(store, row, day, rejected, kept=held.original))
        key = content_key(row.sha256, row.extension)
        if not store.exists(key):  # identical content is stored once
            store.move(held.key, key)
    accepted = ValidatedMediaRow(
        media_id=row.media_id,
        task=row.task,
        sha256=row.sha256,
        extension=row.extension,
        size_bytes=row.size_bytes,
        uploader=row.uploader,
        consent=row.consent,
        residency=row.residency,
        context=row.context,
        storage_key=key,
        validated_at=now_utc(),
        **facts.columns(),
    )
    return Verdict(accepted=accepted)


def _openable(row: RawMediaRow) -> bool:
    return row.object_type == "file" and not row.name_problem and is_safe_key(row.landing_key)


def _listing_problem(row: RawMediaRow, catalog: TaskCatalog) -> MediaRejected | None:
    """What the listing alone decides, without reading a byte: the kind of entry, the task, the name."""
    if row.object_type != "file":
        return MediaRejected(QuarantineReason.NOT_REGULAR_FILE, NOT_REGULAR.get(row.object_type, NOT_REGULAR["other"]))
    if row.task not in catalog.kinds():
        return MediaRejected(QuarantineReason.UNKNOWN_TASK, f"no task named {row.task!r} in the catalog")
    if row.name_problem:
        return MediaRejected(QuarantineReason.UNSAFE_NAME, f"{row.name_problem}: not opened, it stays in landing/")
    if not is_safe_key(row.landing_key):
        return MediaRejected(
            QuarantineReason.UNSAFE_NAME, f"key {row.landing_key!r} is not opened; it stays in landing/"
        )
    return None


def _validate(
    store: ObjectStore, held: Held, row: RawMediaRow, policy: MediaPolicy, catalog: TaskCatalog, prober: Prober
) -> MediaFacts:
    if held.changed is not None:  # whatever else may be wrong, these are not the bytes raw_media recorded
        raise held.changed
    listed = _listing_problem(row, catalog)
    if listed is not None:
        raise listed
    if row.sidecar_status == SidecarStatus.INVALID:
        raise MediaRejected(QuarantineReason.INVALID_SIDECAR, row.sidecar_problem or "invalid sidecar")
    if row.size_bytes == 0:
        raise MediaRejected(QuarantineReason.EMPTY_FILE, "the upload is empty")
    kinds = {str(kind) for kind in catalog.kinds()[row.task]}
    extension = row.extension or ""
    claimed = policy.kind_of_extension(extension, kinds)
    if claimed is None:
        allowed = sorted(set().union(*(policy.extensions_for(kind) for kind in kinds)))
        raise MediaRejected(QuarantineReason.UNSUPPORTED_EXTENSION, f".{extension} not in {allowed} for {row.task}")
    limit = policy.kind_policy(claimed).max_bytes
    if row.size_bytes > limit:
        raise MediaRejected(QuarantineReason.FILE_TOO_LARGE, f"{row.size_bytes} bytes > {limit} for {claimed}")
    with store.open(held.key) as handle:
        sniffed = sniff_stream(handle, policy.probe.sniff_bytes)
    head, mime = sniffed.head, sniffed.mime
    if mime == UNNAMED:
        # libmagic has no name for it; a signature of an accepted format lets its parser decide
        # (a tiny WebM is valid, a PNG signature followed by garbage is corrupt, not "unsupported").
        mime = signature_mime(head) or mime
    mime = policy.container_member(mime, extension)
    kind = policy.kind_of_mime(mime)
    if kind is None:
        raise MediaRejected(QuarantineReason.UNSUPPORTED_TYPE, f"content is {mime}, not a media type we accept", mime)
    if extension not in policy.kind_policy(kind).mime_extensions[mime]:
        raise MediaRejected(QuarantineReason.EXTENSION_MISMATCH, f"extension .{extension} but content is {mime}", mime)
    if kind not in kinds:  # unreachable while extensions map to one kind; kept as a guard
        raise MediaRejected(QuarantineReason.UNSUPPORTED_TYPE, f"content is {mime}, not accepted by {row.task}", mime)
    problem = header_offset_problem(mime, head)
    if problem:
        raise MediaRejected(QuarantineReason.POLYGLOT, problem, mime)
    job = ProbeJob(
        store.url, store.s3_endpoint, held.key, row.size_bytes, mime, kind, extension, policy, check_strippable
    )
    facts = prober.probe(job)
    # Consent is judged last so a broken file still gets its technical reason; nothing without
    # consent goes further than validation.
    if catalog.get(row.task).requires_consent and row.consent is not True:
        why = "no sidecar" if row.sidecar_status == SidecarStatus.MISSING else f"consent is {row.consent!r}"
        raise MediaRejected(
            QuarantineReason.NO_CONSENT, f"{row.task} requires consent: true in the sidecar ({why})", mime
        )
    return facts


def _quarantine(
    store: ObjectStore, row: RawMediaRow, day: str, rejected: MediaRejected, kept: str | None
) -> QuarantinedMediaRow:
    """Record the rejection; ``kept`` (the upload's staged copy, if any) becomes its original."""
    folder = f"quarantine/{day}/{row.media_id}"
    record = {
        "media_id": row.media_id,
        "landing_key": row.landing_key,
        "file_name": row.file_name,
        "sha256": row.sha256,
        "size_bytes": row.size_bytes,
        "reason_code": str(rejected.reason),
        "reason_detail": rejected.detail,
        "sniffed_mime": rejected.sniffed_mime,
        "object_type": row.object_type,
        # the parser's full message, for whoever debugs it; paths relative to the storage root
        "diagnostic": relative_to_root(rejected.diagnostic, store.root_path),
        "quarantined_at": now_utc().isoformat(),
    }
    # Only our own names are used below quarantine/: an upload's name can never pick the path;
    # only regular files were copied (a link's target, a FIFO or a device is never read).
    if kept is not None:
        store.move(kept, f"{folder}/original")
    store.write_json(f"{folder}/reason.json", record)
    return QuarantinedMediaRow(
        media_id=row.media_id,
        task=row.task,
        sha256=row.sha256,
        landing_key=row.landing_key,
        file_name=row.file_name,
        size_bytes=row.size_bytes,
        sniffed_mime=rejected.sniffed_mime,
        reason_code=rejected.reason,
        reason_detail=rejected.detail,
        quarantine_key=folder,
        quarantined_at=now_utc(),
    )
