import dagster as dg

# One partition per UTC day of uploads; the schedule processes yesterday (end_offset=0).
daily_partitions = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")
