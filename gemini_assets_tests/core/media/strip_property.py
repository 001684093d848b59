"""Accepted means sendable: the property both corpora are held to (issue 14).

For every accepted upload the metadata stripper makes its copy, and that copy (what the model
gets) passes the same validation with the same facts. A file the validator accepts but the
stripper refuses would sit in review with nothing a reviewer can do.
"""

from __future__ import annotations

from gemini_assets.core.contracts.errors import SanitizeError
from gemini_assets.core.contracts.tables import ValidatedMediaRow
from gemini_assets.core.media.policy import DEFAULT_POLICY
from gemini_assets.core.media.probe import Prober
from gemini_assets.core.privacy.copies import ensure_sanitized
from gemini_assets.core.stages.intake import scan_landing, validate_and_store
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets_tests.landing import land

RECHECK_DAY = "2001-01-01"  # a day of its own, so the copies never mix with the uploads
SAME = ("media_kind", "mime_type", "width", "height", "pages", "channels", "sample_rate")


def strip_failures(store: ObjectStore, accepted: list[ValidatedMediaRow], prober: Prober) -> dict[str, str]:
    """media_id -> what went wrong, for every accepted item whose copy cannot be made or re-validated."""
    failures: dict[str, str] = {}
    originals = {}
    for item in accepted:
        try:
            copy = ensure_sanitized(store, item)
        except SanitizeError as exc:
            failures[item.media_id] = f"stripping failed: {exc}"
            continue
        key = f"landing/{RECHECK_DAY}/{item.task}/recheck/{item.media_id}.{item.extension}"
        land(store, key, store.read_bytes(copy.key))
        originals[key] = item
    for row in scan_landing(store, RECHECK_DAY):
        item = originals[row.landing_key]
        verdict = validate_and_store(store, row, RECHECK_DAY, DEFAULT_POLICY, TaskCatalog(), prober)
        if verdict.accepted is None:
            assert verdict.quarantined is not None
            failures[item.media_id] = f"the copy is rejected: {verdict.quarantined.reason_code}"
            continue
        copy_row = verdict.accepted
        changed = {
            name: (getattr(item, name), getattr(copy_row, name))
            for name in SAME
            if getattr(item, name) != getattr(copy_row, name)
        }
        if item.duration_s and abs((copy_row.duration_s or 0) - item.duration_s) > 0.05 * item.duration_s + 0.1:
            changed["duration_s"] = (item.duration_s, copy_row.duration_s)
        if changed:
            failures[item.media_id] = f"the copy differs: {changed}"
    return failures
