"""Step 2, deliver: how each accepted item reaches the model (the gemini_files table).

Routing picks the model, the A/B variant and the call mode once; the plan carries them, so
model_outputs never routes again. Items marked `residency: restricted` go only to a configured
in-region endpoint, or nowhere. What leaves is always the sanitized copy (core/privacy), never
the original. Then only what a call needs is uploaded, only when it is needed: an item whose
answer is already archived is not sent again; small images and small documents go inline; audio,
video and anything larger than the inline limit stream from object storage to the Files API. A
live handle for the same content is reused until shortly before its 48 h expiry
(core/gateway/remote_files.py); FAILED processing is recorded with the reason. Items are planned
and uploaded ``concurrency`` at a time (plan_items), the plans in the items' order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gemini_assets.core.audit.events import item_events
from gemini_assets.core.contracts.calls import RemoteFile
from gemini_assets.core.contracts.enums import (
    CallMode,
    DeliveryMode,
    Endpoint,
    MediaKind,
    OutputStatus,
    Provider,
    Residency,
)
from gemini_assets.core.contracts.errors import SanitizeError
from gemini_assets.core.contracts.tables import DeliveryPlan, ValidatedMediaRow
from gemini_assets.core.gateway import stopping
from gemini_assets.core.gateway.base import ModelGateway
from gemini_assets.core.gateway.remote_files import HandleRegistry, record_upload
from gemini_assets.core.gateway.routing import RouteDecision, route_item
from gemini_assets.core.output.cache import ResponseArchive
from gemini_assets.core.privacy.copies import ensure_sanitized, purge_expired
from gemini_assets.core.stages.archive import archive_key
from gemini_assets.core.stages.context import DayContext, progress_logger
from gemini_assets.core.stages.models import ModelAccess
from gemini_assets.core.storage.checks import CheckOutcome, check_partition

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
LOG_EVERY = 25

ALWAYS_FILES_API = frozenset({MediaKind.AUDIO, MediaKind.VIDEO})  # long media: never base64 in a JSON body


@dataclass
class DeliveryResult:
    plans: list[DeliveryPlan] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    coverage: CheckOutcome | None = None


def plan_day(ctx: DayContext, items: list[ValidatedMediaRow], access: ModelAccess) -> DeliveryResult:
    """gemini_files: one delivery plan per accepted item; sanitized copies past retention purged."""
    result = DeliveryResult(purged=purge_expired(ctx.store, ctx.sanitized_retention))
    archive, handles = ResponseArchive(ctx.store), access.handles(ctx.store)
    stopping.clear()  # a stop requested for an earlier step of this process is not this step's
    with ctx.model_calls(item.task for item in items):  # uploads and deletions: one run per day and task
        progress = progress_logger(ctx.log, "delivery plans", LOG_EVERY)
        result.plans = plan_items(ctx, items, access, archive, handles, progress)
    result.coverage = check_partition(
        {i.media_id for i in items}, {"gemini_files": {p.media_id for p in result.plans}}, "validated_media"
    )
    sent = [p for p in result.plans if p.delivery in (DeliveryMode.INLINE, DeliveryMode.FILES_API)]
    ctx.record(
        [{"event": "sanitized_copy_purged", "key": key} for key in result.purged]
        + item_events("sanitized", [p for p in sent if p.sanitized_key], "sanitized_key")
        + item_events("uploaded", [p for p in sent if p.uploaded_at], "remote_name", "endpoint", "upload_bytes")
        + item_events("delivery_decided", result.plans, "delivery", "endpoint", "model", "variant", "mode", "error")
    )
    return result


def plan_items(
    ctx: DayContext,
    items: list[ValidatedMediaRow],
    access: ModelAccess,
    archive: ResponseArchive,
    handles: HandleRegistry | None = None,
    progress: Progress | None = None,
) -> list[DeliveryPlan]:
    """One plan per item, in the items' order, ``concurrency`` items at a time (the model calls'
    setting: the step holds one gemini_api pool slot for both). Uploads are not admitted by the
    quota limiter, which counts generate calls only. Items with the same content are planned in
    turn by one worker, as they were one after the other: the first makes the sanitized copy and
    uploads, the next reuse both, so no content is uploaded twice and the plans do not depend on
    thread timing."""
    by_content: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_content.setdefault(item.sha256, []).append(index)

    def plan_group(indexes: list[int]) -> list[tuple[int, DeliveryPlan]]:
        return [(i, plan_delivery(ctx, items[i], access, archive, handles)) for i in indexes]

    plans: dict[int, DeliveryPlan] = {}
    with ThreadPoolExecutor(max_workers=max(1, access.options.concurrency)) as pool:
        futures = [pool.submit(plan_group, indexes) for indexes in by_content.values()]
        try:
            with stopping.stop_on_interrupt(pool):
                for future in as_completed(futures):
                    for index, plan in future.result():
                        plans[index] = plan
                        if progress:
                            progress(len(plans), len(items))
        except Exception:
            for future in futures:  # an item failed the step: start no further uploads
                future.cancel()
            raise
    return [plans[index] for index in range(len(items))]


def released_route(
    ctx: DayContext, access: ModelAccess, item: ValidatedMediaRow, route: RouteDecision
) -> RouteDecision:
    """The route with a release's model (a model canary's share, a promoted model) in place of the routes' one."""
    model = ctx.catalog.model_for(item.task, item.sha256)
    if model is None or model == route.model:
        return route
    provider = access.routing.capabilities(model).provider
    mode = route.mode if provider == Provider.GEMINI else CallMode.ONLINE  # only Gemini has a Batch API
    return RouteDecision(model, route.variant, f"release of {item.task}", mode, provider)


def plan_delivery(
    ctx: DayContext,
    item: ValidatedMediaRow,
    access: ModelAccess,
    archive: ResponseArchive,
    handles: HandleRegistry | None = None,
    route: RouteDecision | None = None,
) -> DeliveryPlan:
    """``route``: a decision made elsewhere (a shadow challenger's); by default the routing file's."""
    task = ctx.catalog.for_item(item.task, item.sha256)
    route = route or released_route(ctx, access, item, route_item(access.routing, item, task.model))
    base: dict[str, Any] = {
        "media_id": item.media_id,
        "task": item.task,
        "sha256": item.sha256,
        "model": route.model,
        "variant": route.variant,
        "route": route.route,
        # only Gemini has a Batch API: a run's batch override leaves other providers online
        "mode": access.mode_for(route.mode) if route.provider == access.provider else route.mode,
        "endpoint": Endpoint.GLOBAL,
        "backend": access.backend,
        "provider": route.provider,
    }
    if archive.has(archive_key(ctx, access.backend, item, route.model)):
        why = "answer archived for this content, task version and model"
        return DeliveryPlan(**base, delivery=DeliveryMode.CACHED, decision_reason=why)
    if not access.routing.capabilities(route.model).accepts(item):
        why = f"{route.model} ({route.provider}) cannot take this {item.media_kind} (routes.yaml models:), nothing sent"
        return _blocked(base, OutputStatus.UNSUPPORTED_BY_MODEL, why, endpoint=Endpoint.NONE)
    gateway = access.gateway
    if route.provider != access.provider:
        return _other_provider(ctx, item, access, base, route.note)
    if item.residency == Residency.RESTRICTED:
        if access.in_region is None:
            why = "residency restricted and no in-region route is configured: nothing sent"
            return _blocked(base, OutputStatus.RESIDENCY_BLOCKED, why, endpoint=Endpoint.NONE)
        # Batches go to the global endpoint only: restricted items stay online, in region.
        base.update(endpoint=Endpoint.IN_REGION, mode=CallMode.ONLINE)
        gateway = access.in_region
    try:
        copy = ensure_sanitized(ctx.store, item)
    except SanitizeError as exc:
        return _blocked(
            base, OutputStatus.SANITIZE_FAILED, f"metadata could not be stripped, so nothing is sent: {exc}"
        )
    base.update(sanitized_key=copy.key, sanitize_notes="; ".join(copy.notes) or None)
    limit = access.options.inline_max_bytes
    noted = f"; {route.note}" if route.note else ""  # e.g. the challenger could not take it
    if item.media_kind not in ALWAYS_FILES_API and item.size_bytes <= limit:
        why = f"{item.media_kind} of {item.size_bytes} B <= inline limit {limit} B{noted}"
        return DeliveryPlan(**base, delivery=DeliveryMode.INLINE, decision_reason=why)
    if item.media_kind in ALWAYS_FILES_API:
        why = f"{item.media_kind} always goes through the Files API{noted}"
    else:
        why = f"{item.size_bytes} B > inline limit {limit} B{noted}"
    return _files_api(ctx, item, gateway, handles, base, why)


def _other_provider(
    ctx: DayContext, item: ValidatedMediaRow, access: ModelAccess, base: dict[str, Any], note: str | None
) -> DeliveryPlan:
    """OpenAI and Anthropic routes: no Files API and no in-region endpoint, so the sanitized copy
    goes inline or not at all; consent was checked at intake like for every provider."""
    provider = base["provider"]
    if item.residency == Residency.RESTRICTED:
        why = f"residency restricted: {provider} has no in-region endpoint here, nothing sent"
        return _blocked(base, OutputStatus.RESIDENCY_BLOCKED, why, endpoint=Endpoint.NONE)
    try:
        copy = ensure_sanitized(ctx.store, item)
    except SanitizeError as exc:
        return _blocked(
            base, OutputStatus.SANITIZE_FAILED, f"metadata could not be stripped, so nothing is sent: {exc}"
        )
    why = f"{provider} takes media inline only" + (f"; {note}" if note else "")
    base.update(sanitized_key=copy.key, sanitize_notes="; ".join(copy.notes) or None)
    return DeliveryPlan(**base, delivery=DeliveryMode.INLINE, decision_reason=why)


def _blocked(base: dict[str, Any], status: OutputStatus, why: str, endpoint: Endpoint | None = None) -> DeliveryPlan:
    values = {**base, "endpoint": endpoint or base["endpoint"]}
    return DeliveryPlan(
        **values, delivery=DeliveryMode.BLOCKED, blocked_status=status, decision_reason=why[:300], error=why[:400]
    )


def _files_api(
    ctx: DayContext,
    item: ValidatedMediaRow,
    gateway: ModelGateway,
    handles: HandleRegistry | None,
    base: dict[str, Any],
    why: str,
) -> DeliveryPlan:
    reused = handles.reusable(item.sha256) if handles else None
    if reused is not None:
        reason = f"{why}; reused live handle {reused.name}"
        return DeliveryPlan(
            **base, delivery=DeliveryMode.FILES_API, decision_reason=reason, **remote_columns(reused, False)
        )
    try:
        remote = upload_item(ctx, item, gateway, base["sanitized_key"])
    except Exception as exc:  # noqa: BLE001 - any upload failure is recorded; the item goes to review
        log.warning("upload of %s failed: %s", item.media_id, type(exc).__name__)
        failure = f"{type(exc).__name__}: {str(exc)[:300]}"
        return DeliveryPlan(**base, delivery=DeliveryMode.FILES_API, decision_reason=why, error=failure)
    error = None
    if not remote.active:
        error = f"file processing ended {remote.state}: {remote.error or 'no detail from the provider'}"
    elif handles:
        handles.remember(item.sha256, remote)
    columns = remote_columns(remote, True)
    return DeliveryPlan(**base, delivery=DeliveryMode.FILES_API, decision_reason=why, error=error, **columns)


def upload_item(ctx: DayContext, item: ValidatedMediaRow, gateway: ModelGateway, key: str) -> RemoteFile:
    """Stream the sanitized copy from object storage to the Files API in 8 MiB chunks (resumed
    at the server's offset after a network failure; large ones report progress to the run log),
    journaled at once so that a run killed before releasing it leaves no orphan."""
    with ctx.store.open(key) as stream:
        remote = gateway.upload(
            stream, item.mime_type, display_name=item.media_id, progress=lambda p: ctx.log(p.describe())
        )
    record_upload(ctx.store, ctx.day, item.task, ctx.run_id, remote)
    return remote


def remote_columns(remote: RemoteFile, uploaded: bool) -> dict[str, Any]:
    return {
        "remote_name": remote.name,
        "remote_uri": remote.uri,
        "remote_state": remote.state,
        "upload_bytes": remote.size_bytes if uploaded else 0,
        "upload_bytes_sent": remote.bytes_sent if uploaded else 0,
        "upload_resumes": remote.resumes if uploaded else 0,
        "upload_sessions": remote.sessions if uploaded else 0,
        "uploaded_at": datetime.now(UTC) if uploaded else None,
        "expires_at": remote.expires_at,
    }
