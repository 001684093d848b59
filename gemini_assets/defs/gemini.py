"""Steps 2 and 4: validated_media → gemini_files (delivery decisions) → model_outputs."""


import dagster as dg
import pandas as pd

from gemini_assets.core.audit.events import item_events, model_call_events
from gemini_assets.core.gateway.backend import resolve_in_region_backend
from gemini_assets.core.gateway.delivery import plan_delivery
from gemini_assets.core.privacy.copies import purge_expired
from gemini_assets.core.gateway.remote_files import HandleRegistry, release_remote_files, scope_for
from gemini_assets.core.gateway.routing import load_routing
from gemini_assets.core.output.cache import ResponseArchive
from gemini_assets.core.gateway.batch import BatchWaitExceeded
from gemini_assets.core.output.batch_outputs import produce_day_outputs
from gemini_assets.defs.batches import still_running
from gemini_assets.core.storage.contracts import check_partition
from gemini_assets.core.storage.tables import rows_of
from gemini_assets.defs import audit
from gemini_assets.defs.catalog import CatalogResource
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import GeminiResource, StorageResource
from gemini_assets.defs.tables import check_specs, counts_md, emit, frame_for, preview

GEMINI_POOL = "gemini_api"
LOG_EVERY = 25


def _coverage(name: str, source: pd.DataFrame, frame: pd.DataFrame) -> tuple[str, object]:
    return name, check_partition(set(source["media_id"]), {name.removesuffix("_coverage"): set(frame["media_id"])}, "validated_media")


@dg.asset(
    partitions_def=daily_partitions,
    group_name="gemini",
    kinds={"gemini", "parquet"},
    pool=GEMINI_POOL,
    check_specs=check_specs("gemini_files", ("gemini_files_coverage", "one delivery decision per accepted item")),
    description="How each accepted item reaches the model: inline, Files API handle, or cached answer.",
)
def gemini_files(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    gemini: GeminiResource,
    catalog: CatalogResource,
    validated_media: pd.DataFrame,
):
    catalog.activate()
    routing = load_routing()  # a bad routing file fails here, before any upload, with what to fix
    store, backend = storage.store(), gemini.backend()
    context.log.info("model backend: %s", backend.name)
    gateway = gemini.gateway(backend)
    archive, policy = ResponseArchive(store), gemini.policy()
    handles = HandleRegistry(store, gateway, scope_for(backend.base_url))
    in_region_backend = resolve_in_region_backend()
    in_region = gemini.gateway(in_region_backend) if in_region_backend else None
    purged = purge_expired(store)  # sanitized copies past their retention (originals are kept)
    try:
        rows = [
            plan_delivery(store, item, policy, gateway, archive, routing=routing, handles=handles, in_region=in_region)
            for item in rows_of(validated_media)
        ]
    finally:
        gateway.close()
        if in_region is not None:
            in_region.close()
    frame = frame_for("gemini_files", rows)
    sent = [row for row in rows if row["delivery"] in ("inline", "files_api")]
    audit.record(
        context,
        store,
        [{"event": "sanitized_copy_purged", "key": key} for key in purged]
        + item_events("sanitized", [r for r in sent if r.get("sanitized_key")], "sanitized_key")
        + item_events("uploaded", [r for r in sent if r.get("uploaded_at")], "remote_name", "endpoint", "upload_bytes")
        + item_events("delivery_decided", rows, "delivery", "endpoint", "model", "variant", "error"),
    )
    yield from emit(
        "gemini_files",
        frame,
        {
            "backend": backend.name,
            "by_delivery": counts_md(frame["delivery"]),
            "by_model_variant": counts_md(frame["model"] + " / " + frame["variant"]) if len(frame) else "",
            "uploaded_bytes": int(frame["upload_bytes"].fillna(0).sum()) if len(frame) else 0,
            "preview": preview(frame, ["media_id", "delivery", "remote_name", "decision_reason"]),
        },
        [_coverage("gemini_files_coverage", validated_media, frame)],
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="gemini",
    kinds={"gemini", "parquet"},
    pool=GEMINI_POOL,
    check_specs=check_specs("model_outputs", ("model_outputs_coverage", "one output row per accepted item")),
    description="One row per item: the model's final answer, usage, attempts and status.",
)
def model_outputs(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    gemini: GeminiResource,
    catalog: CatalogResource,
    validated_media: pd.DataFrame,
    gemini_files: pd.DataFrame,
):
    catalog.activate()
    store, backend = storage.store(), gemini.backend()
    gateway = gemini.gateway(backend)
    plans = {row["media_id"]: row for row in rows_of(gemini_files)}
    items = [item for item in rows_of(validated_media) if item["media_id"] in plans]

    def progress(done: int, total: int) -> None:
        if done % LOG_EVERY == 0 or done == total:
            context.log.info("model outputs %d/%d", done, total)

    in_region_backend = resolve_in_region_backend()
    in_region = gemini.gateway(in_region_backend) if in_region_backend else None

    try:
        try:  # online and/or batch per item (README "Batch mode")
            rows, batches = produce_day_outputs(store, gateway, items, plans, context.partition_key, gemini.mode,
                                                gemini.batch_settings(), gemini.concurrency, progress, context.run.run_id,
                                                in_region=in_region)
        except BatchWaitExceeded as exc:
            raise still_running(context, gemini, exc) from exc
        deleted = 0
        if gemini.delete_remote_files:
            handles = HandleRegistry(store, gateway, scope_for(backend.base_url))
            deleted = release_remote_files(gateway, handles, plans.values())
        breakers = gateway.breakers_opened()
    finally:
        gateway.close()
        if in_region is not None:
            in_region.close()
    if breakers:
        context.log.warning("circuit breaker opened (model: times): %s", breakers)
    frame = frame_for("model_outputs", rows)
    live = frame[~frame["from_cache"]] if len(frame) else frame
    remote_names = sorted({p["remote_name"] for p in plans.values() if p.get("delivery") == "files_api" and p.get("remote_name")})
    audit.record(context, store, model_call_events(rows) + (
        [{"event": "remote_files_deleted", "count": deleted, "names": remote_names}] if deleted else []
    ))
    yield from emit(
        "model_outputs",
        frame,
        {
            "backend": backend.name,
            "by_status": counts_md(frame["status"]),
            "by_parse_status": counts_md(frame["parse_status"]),
            "api_attempts": int(frame["attempts"].sum()) if len(frame) else 0,
            "from_cache": int(frame["from_cache"].sum()) if len(frame) else 0,
            "remote_files_deleted": deleted,
            "batches": ", ".join(f"{b.batch_name} ({b.state})" for b in batches) or "none",
            "breaker_opened": str(breakers or "never"),
            "input_tokens": int(live["input_tokens"].sum()) if len(live) else 0,
            "output_tokens": int(live["output_tokens"].sum()) if len(live) else 0,
            "preview": preview(frame, ["media_id", "status", "parse_status", "raw_text"]),
        },
        [_coverage("model_outputs_coverage", validated_media, frame)],
    )
