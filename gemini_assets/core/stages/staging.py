"""Staging: each upload is judged on a private copy, and that copy is what is kept.

raw_media hashes what landed; validation copies it once to ``staging/<day>/``, checks the copy's
hash against raw_media's, reads only the copy, and moves it on to media/ or quarantine/. So the
bytes judged are the bytes stored, even when landing/ changes meanwhile (changed_during_ingest).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from gemini_assets.core.contracts.errors import MediaRejected, UnsafeKeyError
from gemini_assets.core.contracts.reasons import QuarantineReason
from gemini_assets.core.contracts.tables import RawMediaRow
from gemini_assets.core.storage.objectstore import ObjectStore

# Private copies of uploads while they are judged; moved on to media/ or quarantine/ (a killed
# process can leave one behind: anything under staging/ is scratch and may be deleted).
STAGING = "staging"


@dataclass(frozen=True)
class Held:
    """One upload's private copy under staging/ (nothing is there when the upload was gone)."""

    key: str
    changed: MediaRejected | None = None  # set when the bytes are not the ones raw_media hashed
    gone: bool = False

    @property
    def original(self) -> str | None:
        """What quarantine/ keeps as the original: the copy, if there is one."""
        return None if self.gone else self.key


@contextmanager
def held_copy(store: ObjectStore, row: RawMediaRow, day: str) -> Iterator[Held]:
    """The upload copied to a staging key of its own; whatever was not moved on is removed after."""
    staged = f"{STAGING}/{day}/{uuid.uuid4().hex}.{row.extension or 'bin'}"
    try:
        yield _copy_landed(store, row, staged)
    finally:
        store.remove(staged)


def _copy_landed(store: ObjectStore, row: RawMediaRow, staged: str) -> Held:
    try:
        found = store.copy_stream(row.landing_key, staged)
    except FileNotFoundError:
        return Held(staged, _changed("gone: deleted from landing/ after raw_media listed it"), gone=True)
    except UnsafeKeyError:  # swapped for a link or a FIFO after the listing: not read
        return Held(staged, _changed("no longer a regular file: replaced after raw_media listed it"), gone=True)
    if found != row.sha256:
        detail = f"sha256 {row.sha256[:12]} recorded by raw_media, {found[:12]} found: replaced after the listing"
        return Held(staged, _changed(detail, f"recorded sha256 {row.sha256}, found {found}"))
    return Held(staged)


def _changed(detail: str, diagnostic: str | None = None) -> MediaRejected:
    return MediaRejected(QuarantineReason.CHANGED_DURING_INGEST, detail, diagnostic=diagnostic)
