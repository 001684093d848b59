import dagster as dg

daily_pipeline = dg.define_asset_job(
    "daily_pipeline",
    selection=dg.AssetSelection.all(),
    description="A day's uploads through validation, the model, record validation and costs.",
)

# Yesterday's partition at 02:00 UTC (end_offset=0 targets the last complete day).
daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_pipeline, hour_of_day=2, minute_of_hour=0, default_status=dg.DefaultScheduleStatus.RUNNING
)
