"""Files API handles by content hash, so the same bytes are uploaded once while a handle lives.

Kept in object storage under `cache/remote_files/<scope>/<sha256>.json` (scope = the backend
and a hash of its URL: handles of the emulator and of Gemini never mix), so later runs and other step
processes see them. A handle is reused only while it has more than `margin` left before its
48 h expiry and the provider still reports it ACTIVE. Deleting after use forgets it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from gemini_assets.core.contracts.calls import RemoteFile
from gemini_assets.core.contracts.enums import DeliveryMode
from gemini_assets.core.contracts.tables import DeliveryPlan
from gemini_assets.core.gateway.base import ModelGateway
from gemini_assets.core.storage.objectstore import ObjectStore

DEFAULT_MARGIN = timedelta(hours=6)  # longer than a day's partition takes to go through the model


class HandleRegistry:
    def __init__(self, store: ObjectStore, gateway: ModelGateway, scope: str, margin: timedelta = DEFAULT_MARGIN):
        self.store, self.gateway, self.scope, self.margin = store, gateway, scope, margin
        self._lock = threading.Lock()

    def _key(self, sha256: str) -> str:
        return f"cache/remote_files/{self.scope}/{sha256}.json"

    def reusable(self, sha256: str) -> RemoteFile | None:
        key = self._key(sha256)
        with self._lock:
            if not self.store.exists(key):
                return None
            saved = self.store.read_json(key)
        expires = datetime.fromisoformat(saved["expires_at"]) if saved.get("expires_at") else None
        if expires is None or expires - datetime.now(UTC) < self.margin:
            return None
        live = self.gateway.get_file(saved["name"])
        if live is None or live.state != "ACTIVE":
            self.forget(sha256)
            return None
        return live

    def remember(self, sha256: str, remote: RemoteFile) -> None:
        record: dict[str, Any] = {
            "name": remote.name,
            "uri": remote.uri,
            "mime_type": remote.mime_type,
            "expires_at": remote.expires_at.isoformat() if remote.expires_at else None,
        }
        with self._lock:
            self.store.write_json(self._key(sha256), record)

    def forget(self, sha256: str) -> None:
        with self._lock:
            key = self._key(sha256)
            if self.store.exists(key):
                self.store.fs.rm(self.store.path(key))


UPLOADS = "journal/uploads"


def _upload_key(day: str, name: str) -> str:
    return f"{UPLOADS}/{day}/{name.replace('/', '_')}.json"


def record_upload(store: ObjectStore, day: str, task: str, run_id: str | None, remote: RemoteFile) -> None:
    """Journal an upload as soon as it exists, so a run killed before releasing it leaves no orphan:
    the next run of the day deletes what this journal still lists."""
    record = {"name": remote.name, "task": task, "run_id": run_id, "uploaded_at": datetime.now(UTC).isoformat()}
    store.replace(_upload_key(day, remote.name), json.dumps(record).encode())


def recorded_uploads(store: ObjectStore, day: str, tasks: set[str]) -> list[dict[str, Any]]:
    found = [store.read_json(obj.key) for obj in store.walk_files(f"{UPLOADS}/{day}") if obj.key.endswith(".json")]
    return [record for record in found if record.get("task") in tasks]


def release_remote_files(
    gateway: ModelGateway,
    handles: HandleRegistry,
    plans: Iterable[DeliveryPlan],
    store: ObjectStore | None = None,
    day: str | None = None,
) -> int:
    """Delete the remote files this partition used, and any upload of the day's tasks an earlier run
    journaled but never released (it was killed); returns how many were deleted."""
    plans = list(plans)
    names = {p.remote_name: p.sha256 for p in plans if p.delivery == DeliveryMode.FILES_API and p.remote_name}
    orphans: list[str] = []
    if store is not None and day is not None:
        orphans = [r["name"] for r in recorded_uploads(store, day, {p.task for p in plans}) if r["name"] not in names]
    deleted = 0
    for name in [*names, *orphans]:
        if name in names:
            handles.forget(names[name])
        deleted += bool(gateway.delete_file(name))
        if store is not None and day is not None:
            store.delete(_upload_key(day, name))
    return deleted
