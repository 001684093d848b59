"""Sanitized copies: what actually leaves. Originals in media/ are never touched.

`sanitized/<sha[:2]>/<sha256>.<ext>` is keyed by the ORIGINAL's hash, so a re-run finds the copy
it made before. Images and PDFs are bounded by the media policy and stripped in memory; audio and
video are streamed to a temporary file, remuxed, and streamed back, so memory stays flat.
Copies are purged after a retention period (GEMINI_ASSETS_SANITIZED_RETENTION_DAYS, default 7).
What stripping dropped besides metadata (an MPO's appended images, a trailer) is kept next to the
copy in `<key>.notes.json`, so a re-run that finds the copy still reports it.

Validation runs `check_strippable` on every accepted image and PDF (core/media/probe.py), so an
accepted file is one the stripper can handle: the same parser decides both.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gemini_assets.core.contracts.enums import MediaKind
from gemini_assets.core.contracts.errors import SanitizeError
from gemini_assets.core.contracts.tables import ValidatedMediaRow
from gemini_assets.core.privacy.sanitize import sanitize_av, sanitize_image_with_notes, sanitize_pdf
from gemini_assets.core.storage.objectstore import CHUNK_BYTES, ObjectStore

SANITIZED = "sanitized"
NOTES_SUFFIX = ".notes.json"


@dataclass(frozen=True)
class SanitizedCopy:
    key: str
    created: bool
    notes: tuple[str, ...] = ()  # what was dropped besides metadata; empty for an ordinary file


def sanitized_key(item: ValidatedMediaRow) -> str:
    return f"{SANITIZED}/{item.sha256[:2]}/{item.sha256}.{item.extension or 'bin'}"


def check_strippable(data: bytes, mime_type: str) -> None:
    """Raise SanitizeError if the stripper cannot make a copy of this image or PDF (validation hook)."""
    try:
        if mime_type == "application/pdf":
            sanitize_pdf(data)
        else:
            sanitize_image_with_notes(data, mime_type)
    except SanitizeError:
        raise
    except Exception as exc:  # pypdf and struct errors: whatever it is, the copy cannot be made
        raise SanitizeError(str(exc) or "the stripper failed") from exc


def ensure_sanitized(store: ObjectStore, item: ValidatedMediaRow) -> SanitizedCopy:
    """The sanitized copy, made if missing. Raises SanitizeError."""
    key = sanitized_key(item)
    if store.exists(key):
        notes_key = key + NOTES_SUFFIX
        notes = store.read_json(notes_key) if store.exists(notes_key) else []
        return SanitizedCopy(key, False, tuple(notes))
    kind, mime = item.media_kind, item.mime_type
    notes = []
    try:
        if kind == MediaKind.IMAGE:
            clean, notes = sanitize_image_with_notes(store.read_bytes(item.storage_key), mime)
            if notes:  # written first: a copy is never seen without its notes
                store.write_json(key + NOTES_SUFFIX, notes)
            store.write_bytes(key, clean)
        elif kind == MediaKind.DOCUMENT:
            store.write_bytes(key, sanitize_pdf(store.read_bytes(item.storage_key)))
        elif kind in (MediaKind.AUDIO, MediaKind.VIDEO):
            _sanitize_stream(store, item, key)
        else:
            raise SanitizeError(f"no sanitizer for media kind {kind!r}")
    except SanitizeError:
        raise
    except Exception as exc:
        raise SanitizeError(f"{type(exc).__name__}: {exc}") from exc
    return SanitizedCopy(key, True, tuple(notes))


def _sanitize_stream(store: ObjectStore, item: ValidatedMediaRow, key: str) -> None:
    with tempfile.TemporaryDirectory(prefix="gemini-assets-sanitize-") as folder:
        source, target = os.path.join(folder, "in"), os.path.join(folder, "out")
        with store.open(item.storage_key) as remote, open(source, "wb") as local:
            shutil.copyfileobj(remote, local, CHUNK_BYTES)
        sanitize_av(source, target, item.mime_type)
        with open(target, "rb") as local, store.open(key, "wb") as remote:
            shutil.copyfileobj(local, remote, CHUNK_BYTES)


def purge_expired(store: ObjectStore, retention: timedelta, now: datetime | None = None) -> list[str]:
    """Delete sanitized copies older than the retention period; returns their keys."""
    cutoff = (now or datetime.now(UTC)) - retention
    purged = []
    for obj in store.walk_files(SANITIZED):
        info = store.fs.info(store.path(obj.key))
        stamp = info.get("mtime") or info.get("LastModified") or info.get("created")
        if stamp is None:
            continue
        moment = stamp if isinstance(stamp, datetime) else datetime.fromtimestamp(float(stamp), tz=UTC)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if moment < cutoff:
            store.fs.rm(store.path(obj.key))
            purged.append(obj.key)
    return purged
