"""The one Definitions object of the code location."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from gemini_assets.core.config import load_executor_settings
from gemini_assets.defs import batches, compare, costs, gemini, ingest, quality, records, releases
from gemini_assets.defs.executors import pipeline_executor
from gemini_assets.defs.jobs import daily_pipeline, daily_schedule
from gemini_assets.defs.reaper import dead_run_reaper
from gemini_assets.defs.resources import default_resources
from gemini_assets.defs.sensors import landing_sensor

ASSETS = [
    ingest.raw_media,
    ingest.validated_media,
    gemini.gemini_files,
    gemini.model_outputs,
    batches.gemini_batches,
    compare.challenger_outputs,
    quality.golden_outputs,
    records.validated_records,
    costs.call_ledger,
    costs.daily_costs,
    costs.billing_reconciliation,
    compare.model_comparison,
    quality.task_quality,
    releases.canary_releases,
]

# The cost tables are what finance reads each morning: the 02:00 run must have refreshed them.
# Warn after 26 h without a materialization (the nightly run is late), fail after 30 h (missed).
COST_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=30), warn_window=timedelta(hours=26))
COST_TABLES = ["call_ledger", "daily_costs"]


def _cost_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    return dg.apply_freshness_policy(spec, COST_FRESHNESS) if spec.key.to_user_string() in COST_TABLES else spec


defs = dg.Definitions(
    assets=dg.map_asset_specs(_cost_freshness, ASSETS),
    jobs=[daily_pipeline],
    schedules=[daily_schedule],
    sensors=[landing_sensor, dead_run_reaper],
    resources=default_resources(),
    # Every job, daily_pipeline and the asset backfills' implicit job alike.
    executor=pipeline_executor(load_executor_settings()),
)
