"""Step 1: landing/ → raw_media → validated_media | quarantined_media."""


import dagster as dg
import pandas as pd

from gemini_assets.core.audit.events import item_events
from gemini_assets.core.media.intake import scan_landing, validate_and_store
from gemini_assets.core.media.policy import DEFAULT_POLICY
from gemini_assets.core.media.probe import Prober
from gemini_assets.core.storage.contracts import check_partition
from gemini_assets.core.storage.tables import rows_of
from gemini_assets.core.tasks.catalog import task_kinds
from gemini_assets.defs import audit
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import StorageResource
from gemini_assets.defs.tables import check_specs, counts_md, emit, frame_for, preview

LOG_EVERY = 50
INTAKE_CONSERVATION = "intake_conservation"


@dg.asset(
    partitions_def=daily_partitions,
    group_name="media",
    kinds={"parquet"},
    check_specs=check_specs("raw_media"),
    description="One row per file landed in landing/<day>/<task>/, with its sidecar fields.",
)
def raw_media(context: dg.AssetExecutionContext, storage: StorageResource):
    store = storage.store()
    rows = scan_landing(store, context.partition_key)
    context.log.info("found %d uploads for %s", len(rows), context.partition_key)
    frame = frame_for("raw_media", rows)
    audit.record(context, store, item_events("received", rows, "task", "landing_key", "sha256", "size_bytes", "uploader", "consent", "residency"))
    yield from emit(
        "raw_media",
        frame,
        {
            "uploads": len(frame),
            "bytes": int(frame["size_bytes"].sum()) if len(frame) else 0,
            "by_task": counts_md(frame["task"]),
            "sidecars": counts_md(frame["sidecar_status"]),
            "preview": preview(frame, ["file_name", "task", "size_bytes", "sidecar_status"]),
        },
    )


@dg.multi_asset(
    partitions_def=daily_partitions,
    group_name="media",
    outs={
        "validated_media": dg.AssetOut(kinds={"parquet"}, description="Accepted uploads with probe results."),
        "quarantined_media": dg.AssetOut(kinds={"parquet"}, description="Rejected uploads with a reason code."),
    },
    ins={"raw_media": dg.AssetIn("raw_media")},
    check_specs=[
        *check_specs(
            "validated_media",
            (INTAKE_CONSERVATION, "every raw_media row is in exactly one of validated_media / quarantined_media"),
        ),
        *check_specs("quarantined_media"),
    ],
)
def validated_media(context: dg.AssetExecutionContext, storage: StorageResource, raw_media: pd.DataFrame):
    store, day, kinds = storage.store(), context.partition_key, task_kinds()
    accepted, rejected = [], []
    raw_rows = rows_of(raw_media)
    # One parser child for the step, closed when the step ends (core/media/probe.py).
    with Prober(DEFAULT_POLICY.probe) as prober:
        for index, row in enumerate(raw_rows, start=1):
            result = validate_and_store(store, row, day, DEFAULT_POLICY, kinds, prober)
            (accepted.append(result.accepted) if result.accepted else rejected.append(result.quarantined))
            if index % LOG_EVERY == 0:
                context.log.info("validated %d/%d uploads", index, len(raw_rows))
    valid, quarantined = frame_for("validated_media", accepted), frame_for("quarantined_media", rejected)
    conservation = check_partition(
        set(raw_media["media_id"]),
        {"validated_media": set(valid["media_id"]), "quarantined_media": set(quarantined["media_id"])},
        "raw_media",
    )
    context.log.info("%d accepted, %d quarantined", len(valid), len(quarantined))
    audit.record(
        context,
        store,
        item_events("validated", accepted, "mime_type", "media_kind")
        + item_events("stored", accepted, "storage_key", "sha256")
        + item_events("quarantined", rejected, "reason_code", "quarantine_key"),
    )
    yield from emit(
        "validated_media",
        valid,
        {
            "accepted": len(valid),
            "by_kind": counts_md(valid["media_kind"]),
            "by_mime": counts_md(valid["mime_type"]),
            "preview": preview(valid, ["media_id", "mime_type", "width", "height", "duration_s", "pages", "size_bytes"]),
        },
        [(INTAKE_CONSERVATION, conservation)],
        multi=True,
    )
    yield from emit(
        "quarantined_media",
        quarantined,
        {
            "quarantined": len(quarantined),
            "by_reason": counts_md(quarantined["reason_code"]),
            "preview": preview(quarantined, ["file_name", "reason_code", "reason_detail"]),
        },
        multi=True,
    )
