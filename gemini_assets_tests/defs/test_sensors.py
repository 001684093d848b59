"""The landing sensor (cursor, settling, today's partition) and the cost tables' freshness policy."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from gemini_assets.definitions import defs
from gemini_assets.defs.partitions import daily_partitions
from gemini_assets.defs.resources import StorageResource
from gemini_assets.defs.sensors import decide, landing_sensor
from gemini_devkit.samples.day import seed_day


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _tick(instance, root: str, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"storage": StorageResource(root=root)},
        repository_def=defs.get_repository_def(),
    )
    data = landing_sensor.evaluate_tick(context)
    return data, data.cursor


def test_sensor_is_off_by_default_and_in_the_definitions():
    sensor = defs.resolve_sensor_def("landing_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert sensor.job_name == "daily_pipeline"


def test_launches_today_once_per_settled_set_of_uploads(store):
    today = _today()
    assert daily_partitions.has_partition_key(today)  # end_offset=1: today's partition exists
    with dg.instance_for_test() as instance:
        data, cursor = _tick(instance, store.url, None)
        assert not data.run_requests and "no uploads" in data.skip_message

        seed_day(store, today, 3)
        data, cursor = _tick(instance, store.url, cursor)
        assert not data.run_requests and "settle" in data.skip_message  # first sight: wait a tick

        data, cursor = _tick(instance, store.url, cursor)
        (request,) = data.run_requests
        assert request.partition_key == today
        assert request.tags["gemini_assets/trigger"] == "landing_sensor"
        first_key = request.run_key

        data, cursor = _tick(instance, store.url, cursor)
        assert not data.run_requests and "none new" in data.skip_message  # cursor: no relaunch

        store.write_bytes(
            f"landing/{today}/product_recognition/late/extra.jpg",
            store.read_bytes(
                next(k for k in seed_day(store, "2026-03-01", 2).keys if k.endswith((".jpg", ".png", ".webp")))
            ),
        )
        data, cursor = _tick(instance, store.url, cursor)
        assert not data.run_requests
        data, cursor = _tick(instance, store.url, cursor)
        (request,) = data.run_requests
        assert request.partition_key == today and request.run_key != first_key


def test_a_growing_file_is_not_launched_until_it_stops_changing(store):
    day = "2026-05-05"
    key = f"landing/{day}/product_recognition/phone/upload.jpg"
    store.write_bytes(key, b"\xff\xd8partial")
    first = decide(store, day, None)
    store.write_bytes(key, b"\xff\xd8partial and then the rest")
    second = decide(store, day, first.cursor)
    assert first.run_key is None and second.run_key is None
    assert decide(store, day, second.cursor).run_key == f"{day}:{json.loads(second.cursor)['seen']}"


def test_a_new_day_or_a_broken_cursor_starts_over(store):
    seed_day(store, "2026-05-06", 2)
    yesterday = json.dumps({"day": "2026-05-05", "launched": "x", "seen": "x"})
    assert decide(store, "2026-05-06", yesterday).run_key is None  # seen for the first time today
    assert json.loads(decide(store, "2026-05-06", "{not json").cursor)["day"] == "2026-05-06"


def test_cost_tables_carry_the_freshness_policy_and_nothing_else_does():
    graph = defs.resolve_asset_graph()
    policies = {key.to_user_string(): graph.get(key).freshness_policy for key in graph.get_all_asset_keys()}
    for table in ("call_ledger", "daily_costs"):
        policy = policies.pop(table)
        assert policy.fail_window.to_timedelta() == timedelta(hours=30)
        assert policy.warn_window.to_timedelta() == timedelta(hours=26)
    assert not any(policies.values())
