"""From landing/ to accepted or quarantined: scan, hash, sidecar, validate, store.

Uploads are only ever copied: landing/ is left as it was, accepted originals go to media/
under their content address, rejects go to quarantine/ with a JSON reason record.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from gemini_assets.core.media.facts import MediaFacts, MediaRejected
from gemini_assets.core.media.policy import MediaPolicy, ReasonCode
from gemini_assets.core.media.probe import Prober, ProbeJob, shared_prober
from gemini_assets.core.media.sniff import header_offset_problem, sniff_mime
from gemini_assets.core.storage.objectstore import ObjectStore, is_safe_key
from gemini_assets.core.tasks.catalog import get_task

LANDING = "landing"
SIDECAR_SUFFIX = ".meta.json"
_SIDECAR_FIELDS = {"uploader": str, "consent": bool, "residency": str, "context": str}


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def media_id_for(landing_key: str) -> str:
    """Stable per landed object: the same path on the same day is the same item on a re-run."""
    return hashlib.sha256(landing_key.encode()).hexdigest()[:20]


def extension_of(file_name: str) -> str:
    _, dot, ext = file_name.rpartition(".")
    return ext.lower() if dot else ""


def read_sidecar(store: ObjectStore, key: str) -> tuple[str, dict[str, Any], str]:
    """(status, fields, problem) where status is present | missing | invalid."""
    sidecar_key = key + SIDECAR_SUFFIX
    if not store.exists(sidecar_key):
        return "missing", {}, ""
    try:
        raw = json.loads(store.read_bytes(sidecar_key))
    except (ValueError, UnicodeDecodeError) as exc:
        return "invalid", {}, f"sidecar is not JSON: {exc}"
    if not isinstance(raw, dict):
        return "invalid", {}, "sidecar is not a JSON object"
    fields: dict[str, Any] = {}
    for name, kind in _SIDECAR_FIELDS.items():
        value = raw.get(name)
        if value is not None and not isinstance(value, kind):
            return "invalid", {}, f"sidecar field {name!r} must be {kind.__name__}"
        fields[name] = value
    if fields.get("residency") not in (None, "global", "restricted"):
        return "invalid", {}, "sidecar residency must be 'global' or 'restricted'"
    return "present", fields, ""


def scan_landing(store: ObjectStore, day: str) -> list[dict[str, Any]]:
    """One raw_media row per landed file of the day (sidecars are not items)."""
    rows = []
    prefix = f"{LANDING}/{day}"
    for obj in store.walk_files(prefix):
        if obj.key.endswith(SIDECAR_SUFFIX):
            continue
        relative = obj.key[len(prefix) + 1 :]
        task = relative.split("/", 1)[0] if "/" in relative else ""
        file_name = posixpath.basename(obj.key)
        row = {
            "media_id": media_id_for(obj.key),
            "task": task,
            "landing_key": obj.key,
            "file_name": file_name,
            "extension": extension_of(file_name),
            "size_bytes": obj.size,
            "sha256": "",
            "sidecar_status": "missing",
            "sidecar_problem": "",
            **{name: None for name in _SIDECAR_FIELDS},
            "landed_at": None,
        }
        if is_safe_key(obj.key):  # an unsafe key (S3 allows `..` in names) is recorded, never opened
            status, fields, problem = read_sidecar(store, obj.key)
            info = store.fs.info(store.path(obj.key))
            landed = info.get("mtime") or info.get("LastModified") or info.get("created")
            row.update(
                sha256=store.sha256(obj.key),
                sidecar_status=status,
                sidecar_problem=problem,
                landed_at=_as_utc(landed),
                **{name: fields.get(name) for name in _SIDECAR_FIELDS},
            )
        rows.append(row)
    return rows


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


def content_key(sha256: str, extension: str) -> str:
    return f"media/{sha256[:2]}/{sha256}.{extension or 'bin'}"


@dataclass
class IntakeResult:
    accepted: dict[str, Any] | None = None
    quarantined: dict[str, Any] | None = None


def validate_and_store(
    store: ObjectStore,
    row: dict[str, Any],
    day: str,
    policy: MediaPolicy,
    task_kinds: dict[str, set[str]],
    prober: Prober | None = None,
) -> IntakeResult:
    """Decide one landed file; store it under media/ or quarantine/. Never raises for bad input.

    Order: task and sidecar → size (before reading) → sniffed type vs extension → the format's
    parser in a child process (core/media/probe.py).
    """
    try:
        facts = _validate(store, row, policy, task_kinds, prober or shared_prober(policy.probe))
    except MediaRejected as rejected:
        return IntakeResult(quarantined=_quarantine(store, row, day, rejected))
    key = content_key(row["sha256"], row["extension"])
    if not store.exists(key):  # identical content is stored once
        store.copy_stream(row["landing_key"], key, expected_sha256=row["sha256"])
    accepted = {
        **{k: row[k] for k in ("media_id", "task", "sha256", "extension", "size_bytes")},
        **{k: row[k] for k in _SIDECAR_FIELDS},
        **facts.columns(),
        "storage_key": key,
        "validated_at": now_utc(),
    }
    return IntakeResult(accepted=accepted)


def _validate(
    store: ObjectStore, row: dict[str, Any], policy: MediaPolicy, task_kinds: dict[str, set[str]], prober: Prober
) -> MediaFacts:
    if row["task"] not in task_kinds:
        raise MediaRejected(ReasonCode.UNKNOWN_TASK, f"no task named {row['task']!r} in the catalog")
    if not is_safe_key(row["landing_key"]):
        raise MediaRejected(ReasonCode.UNSAFE_NAME, f"key {row['landing_key']!r} is not opened; it stays in landing/")
    if row["sidecar_status"] == "invalid":
        raise MediaRejected(ReasonCode.INVALID_SIDECAR, row["sidecar_problem"])
    if row["size_bytes"] == 0:
        raise MediaRejected(ReasonCode.EMPTY_FILE, "the upload is empty")
    kinds = task_kinds[row["task"]]
    claimed = policy.kind_of_extension(row["extension"], kinds)
    if claimed is None:
        allowed = sorted(set().union(*(policy.extensions_for(kind) for kind in kinds)))
        raise MediaRejected(ReasonCode.UNSUPPORTED_EXTENSION, f".{row['extension']} not in {allowed} for {row['task']}")
    limit = policy.kind_policy(claimed).max_bytes
    if row["size_bytes"] > limit:
        raise MediaRejected(ReasonCode.FILE_TOO_LARGE, f"{row['size_bytes']} bytes > {limit} for {claimed}")
    with store.open(row["landing_key"]) as handle:
        head = handle.read(policy.probe.sniff_bytes)
    mime = sniff_mime(head)
    kind = policy.kind_of_mime(mime)
    if kind is None:
        raise MediaRejected(ReasonCode.UNSUPPORTED_TYPE, f"content is {mime}, not a media type we accept", mime)
    if row["extension"] not in policy.kind_policy(kind).mime_extensions[mime]:
        raise MediaRejected(ReasonCode.EXTENSION_MISMATCH, f"extension .{row['extension']} but content is {mime}", mime)
    if kind not in kinds:  # unreachable while extensions map to one kind; kept as a guard
        raise MediaRejected(ReasonCode.UNSUPPORTED_TYPE, f"content is {mime}, not accepted by {row['task']}", mime)
    problem = header_offset_problem(mime, head)
    if problem:
        raise MediaRejected(ReasonCode.POLYGLOT, problem, mime)
    job = ProbeJob(store.url, store.s3_endpoint, row["landing_key"], row["size_bytes"], mime, kind, row["extension"], policy)
    facts = prober.probe(job)
    # Consent is judged last so a broken file still gets its technical reason; nothing without
    # consent goes further than validation.
    if get_task(row["task"]).requires_consent and row.get("consent") is not True:
        why = "no sidecar" if row["sidecar_status"] == "missing" else f"consent is {row.get('consent')!r}"
        raise MediaRejected(ReasonCode.NO_CONSENT, f"{row['task']} requires consent: true in the sidecar ({why})", mime)
    return facts


def _quarantine(store: ObjectStore, row: dict[str, Any], day: str, rejected: MediaRejected) -> dict[str, Any]:
    folder = f"quarantine/{day}/{row['media_id']}"
    record = {
        "media_id": row["media_id"],
        "landing_key": row["landing_key"],
        "file_name": row["file_name"],
        "sha256": row["sha256"],
        "size_bytes": row["size_bytes"],
        "reason_code": str(rejected.reason),
        "reason_detail": rejected.detail,
        "sniffed_mime": rejected.sniffed_mime,
        "quarantined_at": now_utc().isoformat(),
    }
    # Only our own names are used below quarantine/: an upload's name can never pick the path.
    if is_safe_key(row["landing_key"]):
        store.copy_stream(row["landing_key"], f"{folder}/original")
    store.write_json(f"{folder}/reason.json", record)
    return {
        **{k: row[k] for k in ("media_id", "task", "sha256", "landing_key", "file_name", "size_bytes")},
        "sniffed_mime": rejected.sniffed_mime,
        "reason_code": str(rejected.reason),
        "reason_detail": rejected.detail,
        "quarantine_key": folder,
        "quarantined_at": now_utc(),
    }
