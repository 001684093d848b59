from datetime import UTC, datetime

import dagster as dg

from gemini_assets.core.contracts.tables import TABLES
from gemini_assets.definitions import defs


def test_definitions_load_with_every_table_and_checks():
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == set(TABLES)
    check_names = {key.name for key in graph.asset_check_keys}
    for table in TABLES:
        assert f"{table}_schema" in check_names
    assert {"intake_conservation", "outcome_conservation"} <= check_names
    check_specs = [spec for assets_def in defs.assets for spec in assets_def.check_specs]
    assert len(check_specs) == len(check_names) and all(spec.blocking for spec in check_specs)


def test_daily_job_covers_all_assets():
    job = defs.resolve_job_def("daily_pipeline")
    assert job.partitions_def is not None
    assert {node.name for node in job.nodes} >= {"raw_media", "validated_media", "model_outputs", "daily_costs"}


def test_schedule_runs_by_default_and_targets_yesterday():
    schedule = defs.resolve_schedule_def("daily_pipeline_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
            repository_def=defs.get_repository_def(),
        )
        data = schedule.evaluate_tick(context)
    assert [request.partition_key for request in data.run_requests] == ["2026-11-24"]
