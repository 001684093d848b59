"""The shipped dagster.yaml loads and caps what it says it caps."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.run_coordinator import QueuedRunCoordinator

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def test_instance_settings_from_the_shipped_file(tmp_path):
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 4
        assert {"key": "dagster/backfill", "limit": 2} in queue.tag_concurrency_limits
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 2 and pools.pool_granularity.value == "op"
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 300
        assert not instance.run_retries_enabled


def test_dagster_instance_info_accepts_it(tmp_path):
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "instance", "info"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "key: dagster/backfill" in done.stdout and "free_slots_after_run_end_seconds: 300" in done.stdout


def test_postgres_variant_has_the_same_limits():
    single = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    postgres = yaml.safe_load((DEPLOY / "dagster.postgres.yaml").read_text())
    assert postgres.pop("storage") == {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    assert postgres == single
