"""How each accepted item reaches the model: inline bytes, a Files API upload, or not at all.

Routing picks the model (and the A/B variant) first. Items marked `residency: restricted` go
only to a configured in-region endpoint, or nowhere. What leaves is always the sanitized copy
(core/privacy), never the original. Then only what a call needs is uploaded,
only when it is needed: an item whose answer is already archived is not sent again; small
images and small documents go inline; audio, video and anything larger than the inline limit
stream from object storage to the Files API. A live handle for the same content is reused until
shortly before its 48 h expiry (remote_files.py); FAILED processing is recorded with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from gemini_assets.core.gateway.base import ModelGateway, RemoteFile
from gemini_assets.core.gateway.remote_files import HandleRegistry
from gemini_assets.core.gateway.routing import RouteDecision, RoutingConfig, load_routing, route_item
from gemini_assets.core.media.policy import MediaPolicy
from gemini_assets.core.output.cache import ResponseArchive, response_key
from gemini_assets.core.privacy.copies import ensure_sanitized
from gemini_assets.core.privacy.sanitize import SanitizeError
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.tasks.catalog import get_task

log = logging.getLogger(__name__)

ALWAYS_FILES_API = frozenset({"audio", "video"})  # long media: never base64 in a JSON body


def decide_route(item: dict[str, Any], routing: RoutingConfig | None = None) -> RouteDecision:
    return route_item(routing or load_routing(), item, get_task(item["task"]).model)


def plan_delivery(
    store: ObjectStore,
    item: dict[str, Any],
    policy: MediaPolicy,
    gateway: ModelGateway,
    archive: ResponseArchive,
    routing: RoutingConfig | None = None,
    handles: HandleRegistry | None = None,
    in_region: ModelGateway | None = None,
) -> dict[str, Any]:
    task = get_task(item["task"])
    route = decide_route(item, routing)
    row: dict[str, Any] = {
        "media_id": item["media_id"],
        "task": item["task"],
        "sha256": item["sha256"],
        "model": route.model,
        "variant": route.variant,
        "remote_name": None,
        "remote_uri": None,
        "remote_state": None,
        "upload_bytes": None,
        "uploaded_at": None,
        "expires_at": None,
        "error": None,
        "endpoint": "global",
        "sanitized_key": None,
    }
    cache_key = response_key(task.name, task.version, route.model, item["sha256"], task.prompt_hash)
    if archive.get(cache_key) is not None:
        return {**row, "delivery": "cached", "decision_reason": "answer archived for this content, task version and model"}
    if item.get("residency") == "restricted":
        if in_region is None:
            why = "residency restricted and no in-region route is configured: nothing sent"
            return {**row, "endpoint": "none", "delivery": "blocked", "decision_reason": why, "error": f"residency_blocked: {why}"}
        row["endpoint"], gateway = "in_region", in_region
    try:
        row["sanitized_key"], _ = ensure_sanitized(store, item)
    except SanitizeError as exc:
        why = f"metadata could not be stripped, so nothing is sent: {exc}"
        return {**row, "delivery": "blocked", "decision_reason": why[:300], "error": f"sanitize_failed: {why}"[:400]}
    kind, size = item.get("media_kind") or "image", int(item["size_bytes"])
    if kind not in ALWAYS_FILES_API and size <= policy.inline_max_bytes:
        return {**row, "delivery": "inline", "decision_reason": f"{kind} of {size} B <= inline limit {policy.inline_max_bytes} B"}
    why = f"{kind} always goes through the Files API" if kind in ALWAYS_FILES_API else f"{size} B > inline limit {policy.inline_max_bytes} B"
    row.update(delivery="files_api", decision_reason=why)
    reused = handles.reusable(item["sha256"]) if handles else None
    if reused is not None:
        row["decision_reason"] = f"{why}; reused live handle {reused.name}"
        return {**row, **_remote_columns(reused, uploaded=False)}
    try:
        remote = upload_item(store, item, gateway, row["sanitized_key"])
    except Exception as exc:  # noqa: BLE001 - any upload failure is recorded; the item goes to review
        log.warning("upload of %s failed: %s", item["media_id"], type(exc).__name__)
        row["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        return row
    row.update(_remote_columns(remote, uploaded=True))
    if remote.state != "ACTIVE":
        row["error"] = f"file processing ended {remote.state}: {remote.error or 'no detail from the provider'}"
    elif handles:
        handles.remember(item["sha256"], remote)
    return row


def upload_item(store: ObjectStore, item: dict[str, Any], gateway: ModelGateway, key: str) -> RemoteFile:
    """Stream the sanitized copy from object storage to the Files API (the SDK sends 8 MiB chunks)."""
    with store.open(key) as stream:
        return gateway.upload(stream, item["mime_type"], display_name=item["media_id"])


def _remote_columns(remote: RemoteFile, uploaded: bool) -> dict[str, Any]:
    return {
        "remote_name": remote.name,
        "remote_uri": remote.uri,
        "remote_state": remote.state,
        "upload_bytes": remote.size_bytes if uploaded else 0,
        "uploaded_at": datetime.now(timezone.utc) if uploaded else None,
        "expires_at": remote.expires_at,
    }
