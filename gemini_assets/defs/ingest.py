"""Step 1 in Dagster: landing/ → raw_media → validated_media | quarantined_media."""

import dagster as dg
import pandas as pd
from pydantic import Field

from gemini_assets.core.contracts.tables import RawMediaRow
from gemini_assets.core.stages import intake
from gemini_assets.core.storage.tables import rows_from
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import StorageResource
from gemini_assets.defs.tables import Emitted, check_specs, counts, emit, preview

INTAKE_CONSERVATION = "intake_conservation"


class RawMediaConfig(dg.Config):
    """Run config of raw_media (launchpad: ``ops: {raw_media: {config: {...}}}``)."""

    allow_empty_replace: bool = Field(
        default=False,
        description="Replace a day that has raw_media rows with an empty one when landing/<day> has no uploads "
        "(off: the step fails, since a wrong storage root or a lost landing folder looks exactly like that).",
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="media",
    kinds={"parquet"},
    check_specs=check_specs("raw_media"),
    description="One row per file landed in landing/<day>/<task>/, with its sidecar fields.",
)
def raw_media(context: dg.AssetExecutionContext, config: RawMediaConfig, storage: StorageResource) -> Emitted:
    landed = intake.land(storage.day(context), config.allow_empty_replace)
    if landed.warning:
        context.log.warning(landed.warning)
    rows = landed.rows
    metadata = {
        "uploads": len(rows),
        "bytes": sum(r.size_bytes for r in rows),
        "by_task": counts(r.task for r in rows),
        "sidecars": counts(r.sidecar_status for r in rows),
        "preview": preview(rows, ["file_name", "task", "size_bytes", "sidecar_status"]),
        "landing_folder": "missing" if landed.warning else "found",
        **({"warning": landed.warning} if landed.warning else {}),
    }
    yield from emit("raw_media", rows, metadata)


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
def validated_media(context: dg.AssetExecutionContext, storage: StorageResource, raw_media: pd.DataFrame) -> Emitted:
    result = intake.validate_day(storage.day(context), rows_from(raw_media, RawMediaRow))
    valid, rejected = result.validated, result.quarantined
    valid_meta = {
        "accepted": len(valid),
        "by_kind": counts(r.media_kind for r in valid),
        "by_mime": counts(r.mime_type for r in valid),
        "preview": preview(valid, ["media_id", "mime_type", "width", "height", "duration_s", "pages", "size_bytes"]),
    }
    quarantine_meta = {
        "quarantined": len(rejected),
        "by_reason": counts(r.reason_code for r in rejected),
        "preview": preview(rejected, ["file_name", "reason_code", "reason_detail"]),
    }
    yield from emit("validated_media", valid, valid_meta, [(INTAKE_CONSERVATION, result.conservation)], multi=True)
    yield from emit("quarantined_media", rejected, quarantine_meta, multi=True)
