"""The one Definitions object of the code location."""

import dagster as dg

from gemini_assets.defs import costs, gemini, ingest, records
from gemini_assets.defs.jobs import daily_pipeline, daily_schedule
from gemini_assets.defs.resources import default_resources

ASSETS = [
    ingest.raw_media,
    ingest.validated_media,
    gemini.gemini_files,
    gemini.model_outputs,
    records.validated_records,
    costs.call_ledger,
    costs.daily_costs,
    costs.billing_reconciliation,
]

defs = dg.Definitions(
    assets=ASSETS,
    jobs=[daily_pipeline],
    schedules=[daily_schedule],
    resources=default_resources(),
)
