import dagster as dg

# One partition per UTC day of uploads. end_offset=1 makes today's partition exist, so the
# landing sensor can process today's uploads as they arrive; the nightly schedule still targets
# yesterday explicitly (defs/jobs.py), re-running it whole once the day is complete.
daily_partitions = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC", end_offset=1)
