"""How each accepted item reaches the model: inline bytes, a Files API upload, or not at all.

Only what a call needs is uploaded, and only when it is needed: an item whose answer is already
archived is not sent again; small images go inline; anything larger streams from object storage
to the Files API.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from gemini_assets.core.gateway.base import ModelGateway
from gemini_assets.core.media.policy import MediaPolicy
from gemini_assets.core.output.cache import ResponseArchive, response_key
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.tasks.catalog import get_task

log = logging.getLogger(__name__)


def plan_delivery(
    store: ObjectStore,
    item: dict[str, Any],
    policy: MediaPolicy,
    gateway: ModelGateway,
    archive: ResponseArchive,
) -> dict[str, Any]:
    task = get_task(item["task"])
    row: dict[str, Any] = {
        "media_id": item["media_id"],
        "task": item["task"],
        "sha256": item["sha256"],
        "model": task.model,
        "variant": "primary",
        "remote_name": None,
        "remote_uri": None,
        "remote_state": None,
        "upload_bytes": None,
        "uploaded_at": None,
        "expires_at": None,
        "error": None,
    }
    cache_key = response_key(task.name, task.version, task.model, item["sha256"], task.prompt_hash)
    if archive.get(cache_key) is not None:
        return {**row, "delivery": "cached", "decision_reason": "answer archived for this content, task version and model"}
    if item["size_bytes"] <= policy.inline_max_bytes:
        return {**row, "delivery": "inline", "decision_reason": f"{item['size_bytes']} B <= inline limit {policy.inline_max_bytes} B"}
    row.update(delivery="files_api", decision_reason=f"{item['size_bytes']} B > inline limit {policy.inline_max_bytes} B")
    try:
        with store.open(item["storage_key"]) as stream:
            remote = gateway.upload(stream, item["mime_type"], display_name=item["media_id"])
    except Exception as exc:  # noqa: BLE001 - any upload failure is recorded; the item goes to review
        log.warning("upload of %s failed: %s", item["media_id"], type(exc).__name__)
        row["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        return row
    row.update(
        remote_name=remote.name,
        remote_uri=remote.uri,
        remote_state=remote.state,
        upload_bytes=remote.size_bytes,
        uploaded_at=datetime.now(timezone.utc),
        expires_at=remote.expires_at,
    )
    return row
